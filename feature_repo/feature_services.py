"""Feature services: one per market, each with its model's fixed feature list.

``catalog.SERVICES`` declares them (``player_points_v1``, ``player_rebounds_v1``,
``player_assists_v1``, ``player_threes_v1``, ``player_pra_v1``) and their orders;
``player_points_v1`` serves ``catalog.PLAYER_POINTS_V1`` (index 8 is ``usage_spike_score``,
where the old system's feature array had it). A feature with a ``request_time_view`` is
served from that on-demand view (``usage_spike_score`` from ``usage_spike``), every other
from its batch view.

Feast groups a service's features by view, so the columns Feast returns are not in the
declared order. ``serving/training_set.py`` and ``serving/online.py`` reorder to
``PLAYER_POINTS_V1``; use those, or :func:`feature_repo.catalog` order yourself, whenever
the position matters.
"""
from __future__ import annotations

from feast import FeatureService
from feast.feature_logging import LoggingConfig
from feast.infra.offline_stores.bigquery_source import BigQueryLoggingDestination
from feast.infra.offline_stores.file_source import FileLoggingDestination

from feature_repo import catalog
from feature_repo.feature_views import FEATURE_VIEWS
from feature_repo.on_demand_features import line_relative, usage_spike
from nbafs import profile
from warehouse import gcp
from warehouse.schema import FEATURE_LOG_DATASET

ON_DEMAND = {v.name: v for v in (usage_spike, line_relative)}


def serving_view(feature_name: str) -> str:
    """The view a feature service reads a feature from."""
    f = catalog.feature(feature_name)
    return f.request_time_view or f.view


def projections(order: tuple[str, ...]) -> list:
    """One projection per view, views in order of first use, features in declared order."""
    by_view: dict[str, list[str]] = {}
    for name in order:
        by_view.setdefault(serving_view(name), []).append(name)
    views = {**FEATURE_VIEWS, **ON_DEMAND}
    return [views[v][names] for v, names in by_view.items()]


def logging_config(service: str, profile_name: str) -> LoggingConfig:
    """Where a service's served vectors are logged (``feast_plugins/feature_log.py``).

    local: ``warehouse/nba_feast_logs/<service>/`` under NBAFS_DATA_DIR (resolved by our
    offline store, like the FileSources), one folder per ``__log_date``; prod: the BigQuery
    table ``<project>.nba_feast_logs.<service>``. Either way the warehouse table
    ``nba_feast_logs.<service>`` (``nbafs consistency`` reads it).
    """
    if profile_name == "prod":
        destination = BigQueryLoggingDestination(table_ref=f"{gcp.project()}.{FEATURE_LOG_DATASET}.{service}")
    else:
        destination = FileLoggingDestination(path=f"warehouse/{FEATURE_LOG_DATASET}/{service}",
                                             partition_by=["__log_date"])
    return LoggingConfig(destination=destination)


PLAYER_POINTS_V1 = "player_points_v1"
LOGGED = (PLAYER_POINTS_V1,)  # services whose served vectors are logged (nbafs consistency replays them)


def _service(name: str) -> FeatureService:
    market = catalog.SERVICE_MARKETS[name]
    order = catalog.SERVICES[name]
    request = " Request field: line_offered." if "points_avg_last_5_minus_line" in order else ""
    return FeatureService(
        name=name,
        features=projections(order),
        description=(
            f"Player {market.label} model, v1: features in the fixed order of feature_repo/catalog.py "
            f"SERVICES[{name!r}] (docs/features.md).{request}"
        ),
        owner="player-props@nba-feature-store",
        tags={"order": ",".join(order), "market": market.name},
        logging_config=logging_config(name, profile.active()) if name in LOGGED else None,
    )


FEATURE_SERVICES: dict[str, FeatureService] = {name: _service(name) for name in catalog.SERVICES}

# Module-level names, so that `feast apply` (which collects the repo modules' globals) finds every service.
player_points_v1 = FEATURE_SERVICES["player_points_v1"]
player_rebounds_v1 = FEATURE_SERVICES["player_rebounds_v1"]
player_assists_v1 = FEATURE_SERVICES["player_assists_v1"]
player_threes_v1 = FEATURE_SERVICES["player_threes_v1"]
player_pra_v1 = FEATURE_SERVICES["player_pra_v1"]
assert {s.name for s in (player_points_v1, player_rebounds_v1, player_assists_v1, player_threes_v1,
                         player_pra_v1)} == set(FEATURE_SERVICES)
