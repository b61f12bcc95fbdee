"""A feature service's declared feature order, for every online response and training set.

Feast groups a service's features by view, and some of its paths order them by hash
seed; our model's contract is the service's declared order (``catalog.PLAYER_POINTS_V1``,
kept in the service's tag ``order`` by ``feature_repo/feature_services.py``). Online
responses are ordered in ``online_serving.py``; historical retrieval jobs of both
offline stores are wrapped in :class:`DeclaredOrderJob`.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import pandas as pd
import pyarrow as pa
from feast.feature_service import FeatureService
from feast.infra.offline_stores.offline_store import RetrievalJob

ORDER_TAG = "order"


def ranks(features, feature_refs: List[str], full_feature_names: bool) -> Dict[str, int]:
    """Response name -> rank: a service's ``order`` tag, else the order of the refs asked for."""
    refs = list(feature_refs)
    if isinstance(features, FeatureService) and features.tags.get(ORDER_TAG):
        view_of = {f.name: p.name_to_use() for p in features.feature_view_projections for f in p.features}
        declared = [n.strip() for n in features.tags[ORDER_TAG].split(",") if n.strip()]
        refs = [f"{view_of.get(n, '')}:{n}" for n in declared] + refs
    order: Dict[str, int] = {}
    for ref in refs:
        view, _, feature = ref.partition(":")
        name = f"{view}__{feature}" if full_feature_names else feature
        order.setdefault(name, len(order))
    return order


def service_columns(registry, project: str, feature_refs: List[str], full_feature_names: bool) -> Optional[List[str]]:
    """The declared column order when ``feature_refs`` are exactly a service's features, else None.

    Offline stores get the refs, not the service: the service is the one whose refs they are.
    """
    wanted = set(feature_refs)
    for service in registry.list_feature_services(project, allow_cache=True):
        if not service.tags.get(ORDER_TAG):
            continue
        refs = [f"{p.name_to_use()}:{f.name}" for p in service.feature_view_projections for f in p.features]
        if set(refs) == wanted:
            order = ranks(service, refs, full_feature_names)
            return sorted(order, key=order.get)
    return None


def wrap(job: RetrievalJob, registry, project: str, feature_refs: List[str], full_feature_names: bool) -> RetrievalJob:
    columns = service_columns(registry, project, feature_refs, full_feature_names)
    return job if columns is None else DeclaredOrderJob(job, columns)


class DeclaredOrderJob(RetrievalJob):
    """A retrieval job whose frames list the service's features in declared order, after the other columns."""

    def __init__(self, inner: RetrievalJob, features: List[str]):
        self._inner = inner
        self._features = features

    def _order(self, columns: List[str]) -> List[str]:
        present = set(columns)
        features = [c for c in self._features if c in present]
        chosen = set(features)
        return [c for c in columns if c not in chosen] + features

    def to_df(self, *args, **kwargs) -> pd.DataFrame:
        frame = self._inner.to_df(*args, **kwargs)
        return frame[self._order(list(frame.columns))]

    def to_arrow(self, *args, **kwargs) -> pa.Table:
        table = self._inner.to_arrow(*args, **kwargs)
        return table.select(self._order(table.column_names))

    def _to_df_internal(self, timeout=None) -> pd.DataFrame:
        return self._inner._to_df_internal(timeout)

    def _to_arrow_internal(self, timeout=None) -> pa.Table:
        return self._inner._to_arrow_internal(timeout)

    @property
    def full_feature_names(self) -> bool:
        return self._inner.full_feature_names

    @property
    def on_demand_feature_views(self):
        return self._inner.on_demand_feature_views

    @property
    def metadata(self):
        return self._inner.metadata

    def __getattr__(self, name):  # to_sql, persist, to_bigquery, ...: the inner job's
        return getattr(self._inner, name)
