"""DuckDB offline store over the parquet warehouse: paths under NBAFS_DATA_DIR, ASOF joins.

``feature_store.yaml`` names ``feast_plugins.offline_store.NbaDuckDBOfflineStore``. It
subclasses Feast's ``DuckDBOfflineStore`` and changes two things:

1. **Paths.** Our ``FileSource`` paths are relative (``warehouse/<dataset>/<table>/*.parquet``)
   so the registry is the same whatever data directory is in use; this store resolves
   them under NBAFS_DATA_DIR (Feast's own resolves them against the current directory).
   A table with no partition yet reads as an empty table of its declared schema.
2. **Point-in-time joins.** Feast's generic path (ibis) joins every entity row with every
   earlier source row of its key and ranks them. Here a view with a ttl is a hash join of
   each entity row with the source rows of its key in the two ttl-long time buckets that
   can hold its answer, then an ``arg_max`` (:func:`_ttl_view_sql`); a view without a ttl
   is a DuckDB ``ASOF JOIN`` (:func:`_view_sql`): per key, source rows sorted by the time
   they became visible, a running "best row so far", and one ASOF lookup per entity row.
   All the views are one query.
   Same semantics as Feast's: the row with the greatest ``(event_timestamp, created_at)``
   among rows with ``event_timestamp <= t`` (and ``created_at <= t`` with
   ``filter_by_created_timestamp``), NULL when that row is older than the view's ttl.

The batch engine's reads, ``pull_all_from_table_or_query`` and
``pull_latest_from_table_or_query``, are single DuckDB queries over the partitions too
(``pull_all`` opens only the files whose footer statistics overlap the range). Entity-less
retrieval (start/end dates) is Feast's ibis code with our path resolution. On-demand
feature views run through Feast's own ``transform_arrow``; each gets only its input
columns (:meth:`NbaRetrievalJob.to_arrow`). Pushed rows (``offline_write_batch``) are
merged into their table by its grain (:func:`merge_pushed_rows`, shared with the BigQuery store).
"""
from __future__ import annotations

import glob
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Literal, Optional, Union

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from feast.data_source import DataSource
from feast.feature_view import FeatureView
from feast.infra.offline_stores import offline_utils
from feast.infra.offline_stores.duckdb import (
    DuckDBOfflineStore,
    DuckDBOfflineStoreConfig,
    _read_data_source,
    _write_data_source,
)
from feast.infra.offline_stores.file_source import FileSource
from feast.infra.offline_stores.ibis import get_historical_features_ibis
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.infra.registry.base_registry import BaseRegistry
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.repo_config import RepoConfig
from feast.saved_dataset import SavedDatasetStorage

from feast_plugins import declared_order
from nbafs import paths
from nbafs.errors import UserError

CLASS_PATH = "feast_plugins.offline_store.NbaDuckDBOfflineStore"


class NbaDuckDBOfflineStoreConfig(DuckDBOfflineStoreConfig):
    type: Literal["feast_plugins.offline_store.NbaDuckDBOfflineStore"] = CLASS_PATH  # type: ignore[assignment]


# --- reading sources ------------------------------------------------------------------


def resolved_path(source: FileSource) -> str:
    """The source's path with a relative path taken under NBAFS_DATA_DIR."""
    path = source.path
    if "://" in path:
        return path
    return str(paths.resolve_in_data_dir(path))


def _empty_table_for(source: DataSource) -> pa.Table:
    """The empty table of a declared warehouse table, for a source with no partition yet."""
    from warehouse.schema import table as declared_table

    try:
        return declared_table(source.name).arrow_schema().empty_table()
    except KeyError:
        raise UserError(
            f"data source {source.name!r}: no file matches {resolved_path(source)} and it is not a "
            f"table declared in warehouse/schema.py. Write the table first (nbafs transform) or fix "
            f"the source's path."
        ) from None


def _has_files(source: FileSource) -> bool:
    path = resolved_path(source)
    return "://" in path or bool(glob.glob(path))


def read_source(data_source: DataSource, repo_path: str) -> ibis.Table:
    """Feast's DuckDB reader with our path resolution (for the ibis code paths)."""
    if isinstance(data_source, FileSource):
        if not _has_files(data_source):
            return ibis.memtable(_empty_table_for(data_source))
        return ibis.read_parquet(resolved_path(data_source), union_by_name=True)
    return _read_data_source(data_source, repo_path)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_DUCKDB: dict[int, duckdb.DuckDBPyConnection] = {}


def _duckdb_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor on this process's DuckDB connection (opening one costs ~20 ms, a cursor ~0)."""
    con = _DUCKDB.get(os.getpid())
    if con is None:
        _DUCKDB.clear()  # a connection must not cross a fork
        con = _DUCKDB[os.getpid()] = duckdb.connect()
        con.execute("SET GLOBAL TimeZone = 'UTC'")
    return con.cursor()


def _pull_parquet(
    source: FileSource,
    join_key_columns: list[str],
    feature_name_columns: list[str],
    timestamp_field: str,
    created_timestamp_column: Optional[str],
    start_date: Optional[datetime],
    end_date: Optional[datetime],
    qualify: Optional[str] = None,
) -> "NbaRetrievalJob":
    """The batch engine's reads of a local parquet source: one DuckDB query.

    Every row with ``start_date <= event time <= end_date`` (either bound optional), or
    with ``qualify`` only the rows that pass it (pull_latest's one row per key). Columns:
    the join keys, the feature columns, the event time and the created time as the source
    names them; times come back as UTC timestamps. Only the partition files whose footer
    statistics say their event times overlap the range are opened
    (``warehouse.footers``, cached per file version), with no ibis expression to build:
    a one-day read of a season-long table costs a few milliseconds instead of tens.
    """
    from warehouse import footers

    columns = list(dict.fromkeys([*join_key_columns, *feature_name_columns, timestamp_field,
                                  *([created_timestamp_column] if created_timestamp_column else [])]))
    start = _utc(start_date) if start_date is not None else None
    end = _utc(end_date) if end_date is not None else None
    times = {timestamp_field, created_timestamp_column}
    select = ", ".join(
        f"CAST({_ident(c)} AS TIMESTAMPTZ) AS {_ident(c)}" if c in times else _ident(c) for c in columns
    )
    ts = f"CAST({_ident(timestamp_field)} AS TIMESTAMPTZ)"
    where, params = ["TRUE"], {}
    if start is not None:
        where.append(f"{ts} >= $start")
        params["start"] = start
    if end is not None:
        where.append(f"{ts} <= $end")
        params["end"] = end
    sql = f"SELECT {select} FROM read_parquet($files, union_by_name = true) WHERE {' AND '.join(where)}"
    if qualify:
        sql += f" QUALIFY {qualify}"

    def overlaps(f) -> bool:
        span = f.time_range(timestamp_field)
        if span is None:
            return f.num_rows > 0  # no statistics: read it and let the filter decide
        return not ((end is not None and span[0] > end) or (start is not None and span[1] < start))

    def run() -> pa.Table:
        every = footers.footers(resolved_path(source))
        files = [str(f.path) for f in every if overlaps(f)]
        if not files:  # nothing in range: no rows, with the columns of the newest partition
            schema = every[-1].schema if every else _empty_table_for(source).schema
            return pa.schema([pa.field(f.name, f.type) for f in schema]).empty_table().select(columns)
        con = _duckdb_cursor()
        try:
            return con.sql(sql, params={"files": files, **params}).to_arrow_table()
        finally:
            con.close()

    return NbaRetrievalJob(run, sql.replace("$files", f"<{source.name}>"), [], False, None)


# --- the point-in-time join -------------------------------------------------------------


class _ViewPlan:
    """What one feature view contributes: its source, keys, feature columns and ttl."""

    def __init__(self, fv: FeatureView, feature_refs: list[str], full_feature_names: bool):
        if fv.batch_source is None or not isinstance(fv.batch_source, FileSource):
            raise UserError(
                f"feature view {fv.name!r}: {CLASS_PATH} reads parquet FileSources only; its source is "
                f"{type(fv.batch_source).__name__}. Use the production profile for BigQuery sources."
            )
        self.fv = fv
        self.source: FileSource = fv.batch_source
        prefix = fv.projection.name_to_use()
        self.features = [r.split(":", 1)[1] for r in feature_refs if r.startswith(f"{prefix}:")]
        base = fv.projection.name_alias or fv.name
        self.output_names = [f"{base}__{f}" if full_feature_names else f for f in self.features]
        # feature view join key -> entity dataframe column
        self.key_map: dict[str, str] = fv.projection.join_key_map or {
            e.name: e.name for e in fv.entity_columns
        }
        reverse_mapping = {v: k for k, v in (self.source.field_mapping or {}).items()}
        self.source_column = lambda name: reverse_mapping.get(name, name)
        self.timestamp_field = self.source.timestamp_field
        self.created_field = self.source.created_timestamp_column or None
        self.ttl: Optional[timedelta] = fv.ttl if fv.ttl and fv.ttl.total_seconds() > 0 else None


def _source_relation(plan: _ViewPlan, con: duckdb.DuckDBPyConnection, alias: str) -> str:
    return _source_relation_for(plan.source, con, alias)


def _source_relation_for(source: FileSource, con: duckdb.DuckDBPyConnection, alias: str) -> str:
    """A FROM-able expression for a source (an empty registered table when it has no file)."""
    if _has_files(source):
        return f"read_parquet({_sql_string(resolved_path(source))}, union_by_name = true)"
    con.register(alias, _empty_table_for(source))
    return _ident(alias)


def _view_sql(plan: _ViewPlan, i: int, source_from: str, created_filter: bool) -> str:
    """The CTEs of one view's point-in-time join, keyed by the entity row number ``__row``.

    For each key, a source row becomes visible at ``__vis`` = its event timestamp (with the
    created-at filter: the later of its event timestamp and its created_at). The answer at
    time ``t`` is the visible row with the greatest ``(event_timestamp, created_at)``, i.e.
    the greatest rank ``__ord`` in that order. As ``t`` grows the answer only changes when
    a row becomes visible, so a running ``max(__ord)`` in visibility order (rows with the
    same ``__vis`` are peers and share it) is the answer from each ``__vis`` on; an
    ``ASOF JOIN`` picks it for every entity row and a hash join fetches that row. The ttl
    is checked on the answer: if the best visible row is expired, every other visible row
    (an older event time) is too.
    """
    keys = list(plan.key_map)
    src_keys = ", ".join(f"{_ident(plan.source_column(k))} AS {_ident('k_' + k)}" for k in keys)
    feats = "".join(
        f", {_ident(plan.source_column(f))} AS {_ident(f'f{j}')}" for j, f in enumerate(plan.features)
    )
    ts = _ident(plan.timestamp_field)
    created = f"CAST({_ident(plan.created_field)} AS TIMESTAMPTZ)" if plan.created_field else "NULL::TIMESTAMPTZ"
    vis = "greatest(__ts, coalesce(__created, __ts))" if (plan.created_field and created_filter) else "__ts"
    part = ", ".join(_ident("k_" + k) for k in keys)
    not_null = " AND ".join(f"{_ident(plan.source_column(k))} IS NOT NULL" for k in keys)
    p = f"v{i}"
    key_match = " AND ".join(f"e.{_ident(plan.key_map[k])} = t.{_ident('k_' + k)}" for k in keys)
    row_match = " AND ".join(f"r.{_ident('k_' + k)} = t.{_ident('k_' + k)}" for k in keys)
    if plan.ttl is not None:
        micros = int(plan.ttl / timedelta(microseconds=1))
        alive = f"r.__ts >= e.__t - to_microseconds({micros})"
    else:
        alive = "TRUE"
    outs = "".join(
        f", CASE WHEN {alive} THEN r.{_ident(f'f{j}')} END AS {_ident(f'{p}_f{j}')}"
        for j in range(len(plan.features))
    )
    return f"""{p}_ranked AS (
    SELECT *, row_number() OVER (PARTITION BY {part} ORDER BY __ts, __created) AS __ord
    FROM (
        SELECT {src_keys}, CAST({ts} AS TIMESTAMPTZ) AS __ts, {created} AS __created{feats}
        FROM {source_from}
        WHERE {not_null} AND {ts} IS NOT NULL
    )
),
{p}_timeline AS (
    SELECT {part}, {vis} AS __vis,
           max(__ord) OVER (PARTITION BY {part} ORDER BY {vis}
                            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS __best
    FROM {p}_ranked
),
{p}_joined AS (
    SELECT e.__row{outs}
    FROM __entity e
    ASOF LEFT JOIN {p}_timeline t ON {key_match} AND e.__t >= t.__vis
    LEFT JOIN {p}_ranked r ON {row_match} AND r.__ord = t.__best
)"""


def _bucket(expr: str, width: int) -> str:
    """``floor(expr / width)`` for BIGINT microseconds, exact for negative values too."""
    return f"(({expr}) // {width} - CASE WHEN ({expr}) % {width} < 0 THEN 1 ELSE 0 END)"


def _ttl_view_sql(plan: _ViewPlan, i: int, source_from: str, created_filter: bool) -> str:
    """The CTEs of a view with a ttl: the same answer as :func:`_view_sql`, by equi-joins.

    With a ttl the answer at time ``t`` can only be a row with ``t - ttl <= event time <=
    t``, visible at ``t`` (with the created-at filter: created_at NULL or <= ``t``), and
    among those it is the one with the greatest ``(event_timestamp, created_at)`` (NULL
    created_at last, as ``_view_sql``'s ``ORDER BY __ts, __created`` ranks it). If the best
    visible row is expired every visible row is, so filtering on the ttl first and then
    taking the best changes nothing. Cutting time into buckets of the ttl's length, such
    a row lies in the bucket of ``t`` or the one before: each entity row is joined on its
    key and those two buckets (a hash join, a handful of candidates each) instead of
    sorting every source row twice for windows. The best candidate per entity row is an
    ``arg_max`` over a 128-bit rank packing ``(event_timestamp, created_at NULLS LAST)``.
    """
    assert plan.ttl is not None
    keys = list(plan.key_map)
    width = int(plan.ttl / timedelta(microseconds=1))
    src_keys = ", ".join(f"{_ident(plan.source_column(k))} AS {_ident('k_' + k)}" for k in keys)
    feats = "".join(
        f", {_ident(plan.source_column(f))} AS {_ident(f'f{j}')}" for j, f in enumerate(plan.features)
    )
    ts = _ident(plan.timestamp_field)
    created = f"CAST({_ident(plan.created_field)} AS TIMESTAMPTZ)" if plan.created_field else "NULL::TIMESTAMPTZ"
    not_null = " AND ".join(f"{_ident(plan.source_column(k))} IS NOT NULL" for k in keys)
    p = f"v{i}"
    ekeys = ", ".join(f"{_ident(plan.key_map[k])} AS {_ident('k_' + k)}" for k in keys)
    key_match = " AND ".join(f"s.{_ident('k_' + k)} = e.{_ident('k_' + k)}" for k in keys)
    visible = " AND (s.__created IS NULL OR s.__created <= e.__t)" if (plan.created_field and created_filter) else ""
    rank = ("CAST(epoch_us(s.__ts) AS HUGEINT) * 18446744073709551616 + "
            "coalesce(CAST(epoch_us(s.__created) AS HUGEINT), 9223372036854775807) + 9223372036854775808")
    fields = ", ".join(f"{_ident(f'f{j}')} := s.{_ident(f'f{j}')}" for j in range(len(plan.features)))
    packed = f"struct_pack({fields})" if plan.features else "struct_pack(__none := NULL)"
    outs = "".join(f", __v.{_ident(f'f{j}')} AS {_ident(f'{p}_f{j}')}" for j in range(len(plan.features)))
    return f"""{p}_source AS (
    SELECT {src_keys}, CAST({ts} AS TIMESTAMPTZ) AS __ts, {created} AS __created{feats},
           {_bucket(f"epoch_us(CAST({ts} AS TIMESTAMPTZ))", width)} AS __b
    FROM {source_from}
    WHERE {not_null} AND {ts} IS NOT NULL
),
{p}_asked AS (
    SELECT __row, __t, {ekeys}, unnest([{_bucket("epoch_us(__t)", width)}, {_bucket("epoch_us(__t)", width)} - 1]) AS __b
    FROM __entity
),
{p}_best AS (
    SELECT e.__row, arg_max({packed}, {rank}) AS __v
    FROM {p}_asked e
    JOIN {p}_source s ON {key_match} AND s.__b = e.__b
    WHERE s.__ts <= e.__t AND s.__ts >= e.__t - to_microseconds({width}){visible}
    GROUP BY e.__row
),
{p}_joined AS (
    SELECT __row{outs} FROM {p}_best
)"""


def build_pit_sql(
    plans: list[_ViewPlan],
    entity_columns: list[str],
    sources: list[str],
    created_filter: bool,
) -> str:
    """The whole retrieval: entity columns in their order, then each view's features."""
    ctes = [(_ttl_view_sql if plan.ttl is not None else _view_sql)(plan, i, sources[i], created_filter)
            for i, plan in enumerate(plans)]
    select = [f"e.{_ident(c)}" for c in entity_columns]
    joins = []
    for i, plan in enumerate(plans):
        p = f"v{i}"
        select += [f"{p}.{_ident(f'{p}_f{j}')} AS {_ident(name)}" for j, name in enumerate(plan.output_names)]
        joins.append(f"LEFT JOIN v{i}_joined {p} ON {p}.__row = e.__row")
    with_clause = ("WITH " + ",\n".join(ctes)) if ctes else ""
    return f"""{with_clause}
SELECT {', '.join(select)}
FROM __entity e
{chr(10).join(joins)}
ORDER BY e.__row"""


def build_pit_sqls(
    plans: list[_ViewPlan],
    entity_columns: list[str],
    sources: list[str],
    created_filter: bool,
) -> list[str]:
    """:func:`build_pit_sql` as one query for the entity columns and one per view, each
    with one row per entity row in ``__row`` order: side by side, the same table.

    DuckDB holds the hash tables of every view of one query until its last join, and the
    allocator keeps that peak for the rest of the process; a view at a time it is one
    view's (ten seasons: about 650 MB less).
    """
    out = [f"SELECT {', '.join(f'e.{_ident(c)}' for c in entity_columns)} FROM __entity e ORDER BY e.__row"]
    for i, plan in enumerate(plans):
        cte = (_ttl_view_sql if plan.ttl is not None else _view_sql)(plan, i, sources[i], created_filter)
        p = f"v{i}"
        select = ", ".join(f"{p}.{_ident(f'{p}_f{j}')} AS {_ident(name)}" for j, name in enumerate(plan.output_names))
        out.append(f"""WITH {cte}
SELECT {select or 'NULL AS __none'}
FROM __entity e
LEFT JOIN {p}_joined {p} ON {p}.__row = e.__row
ORDER BY e.__row""")
    return out


def _entity_arrow(entity_df: pd.DataFrame, ts_col: str) -> pa.Table:
    """The entity dataframe as Arrow with a row number and its time as UTC ``__t``."""
    df = entity_df.copy()
    t = df[ts_col]
    if not pd.api.types.is_datetime64_any_dtype(t):
        t = pd.to_datetime(t, utc=True)
    elif getattr(t.dt, "tz", None) is None:
        t = t.dt.tz_localize("UTC")
    else:
        t = t.dt.tz_convert("UTC")
    df[ts_col] = t
    df["__t"] = t.astype("datetime64[us, UTC]")
    df["__row"] = range(len(df))
    return pa.Table.from_pandas(df, preserve_index=False)


def _on_demand_inputs(odfv: OnDemandFeatureView) -> set[str]:
    """Every column name an on-demand view may read: its sources' features (short and
    full names) and its request fields."""
    names: set[str] = set(odfv.get_request_data_schema())
    for projection in odfv.source_feature_view_projections.values():
        for feature in projection.features:
            names.add(feature.name)
            names.add(f"{projection.name}__{feature.name}")
            names.add(f"{projection.name_to_use()}__{feature.name}")
    return names


class NbaRetrievalJob(RetrievalJob):
    """A retrieval that runs one DuckDB query when asked for its result."""

    def __init__(
        self,
        run: Callable[[], pa.Table],
        sql: str,
        on_demand_feature_views: list[OnDemandFeatureView],
        full_feature_names: bool,
        metadata: Optional[RetrievalMetadata],
    ):
        super().__init__()
        self._run = run
        self._sql = sql
        self._odfvs = on_demand_feature_views
        self._full_feature_names = full_feature_names
        self._metadata = metadata

    def _to_arrow_internal(self, timeout: Optional[int] = None) -> pa.Table:
        return self._run()

    def to_arrow(self, validation_reference=None, timeout: Optional[int] = None) -> pa.Table:
        """The joined features plus the requested on-demand features.

        Same result as Feast's ``RetrievalJob.to_arrow``, which hands every on-demand view
        the whole table (a Python-mode view then converts every column, timestamps
        included, to Python objects); here each view gets only its input columns.
        """
        table = self._to_arrow_internal(timeout=timeout)
        requested = self._requested_on_demand_columns()
        for odfv in self._odfvs:
            wanted = _on_demand_inputs(odfv)
            inputs = table.select([c for c in table.column_names if c in wanted])
            transformed = odfv.transform_arrow(inputs, self._full_feature_names)
            keep = requested.get(odfv.name)
            for col in transformed.column_names:
                if col.startswith("__index") or col in inputs.column_names:
                    continue
                if keep is None or col in keep:
                    table = table.append_column(col, transformed[col])
        if validation_reference:
            from feast.dqm.errors import ValidationFailed

            result = validation_reference.profile.validate(table.to_pandas())
            if not result.is_success:
                raise ValidationFailed(result)
        return table

    def _requested_on_demand_columns(self) -> dict[str, set[str]]:
        """On-demand view name -> the output columns the caller asked for (as Feast computes it)."""
        out: dict[str, set[str]] = {}
        for ref in (self._metadata.features if self._metadata else []):
            if ":" not in ref:
                continue
            view, feature = ref.split(":", 1)
            for odfv in self._odfvs:
                if view in (odfv.name, odfv.projection.name_to_use()):
                    name = f"{odfv.projection.name_to_use()}__{feature}" if self._full_feature_names else feature
                    out.setdefault(odfv.name, set()).add(name)
        return out

    def _to_df_internal(self, timeout: Optional[int] = None) -> pd.DataFrame:
        return self._run().to_pandas()

    def to_sql(self) -> str:
        return self._sql

    @property
    def full_feature_names(self) -> bool:
        return self._full_feature_names

    @property
    def on_demand_feature_views(self) -> list[OnDemandFeatureView]:
        return self._odfvs

    @property
    def metadata(self) -> Optional[RetrievalMetadata]:
        return self._metadata

    def persist(self, storage: SavedDatasetStorage, allow_overwrite: bool = False, timeout: Optional[int] = None):
        source = storage.to_data_source()
        if not isinstance(source, FileSource):
            raise UserError(f"{CLASS_PATH} persists to parquet files only, not {type(source).__name__}")
        target = paths.resolve_in_data_dir(source.path)
        if target.exists() and not allow_overwrite:
            raise UserError(f"{target} exists; pass allow_overwrite=True to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(self.to_arrow(), target)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class NbaDuckDBOfflineStore(DuckDBOfflineStore):
    supports_filter_by_created_timestamp = True

    @staticmethod
    def get_historical_features(
        config: RepoConfig,
        feature_views: list[FeatureView],
        feature_refs: list[str],
        entity_df: Union[pd.DataFrame, str, None],
        registry: BaseRegistry,
        project: str,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        **kwargs: Any,
    ) -> RetrievalJob:
        job = NbaDuckDBOfflineStore._historical_job(
            config, feature_views, feature_refs, entity_df, registry, project, full_feature_names,
            filter_by_created_timestamp)
        return declared_order.wrap(job, registry, project, feature_refs, full_feature_names)

    @staticmethod
    def _historical_job(config, feature_views, feature_refs, entity_df, registry, project, full_feature_names,
                        filter_by_created_timestamp) -> RetrievalJob:
        if not isinstance(entity_df, pd.DataFrame):
            # Entity-less (start/end date) retrieval: Feast's generic code, our paths.
            return get_historical_features_ibis(
                config=config, feature_views=feature_views, feature_refs=feature_refs,
                entity_df=entity_df, registry=registry, project=project,
                full_feature_names=full_feature_names, data_source_reader=read_source,
                data_source_writer=_write_data_source,
                staging_location=config.offline_store.staging_location,
                staging_location_endpoint_override=config.offline_store.staging_location_endpoint_override,
                filter_by_created_timestamp=filter_by_created_timestamp,
            )
        ts_col = offline_utils.infer_event_timestamp_from_entity_df(dict(zip(entity_df.columns, entity_df.dtypes)))
        for name in ("__row", "__t"):
            if name in entity_df.columns:
                raise UserError(f"entity dataframe: column {name!r} is reserved by {CLASS_PATH}; rename it")
        plans = [_ViewPlan(fv, feature_refs, full_feature_names) for fv in feature_views]
        for plan in plans:
            missing = [col for col in plan.key_map.values() if col not in entity_df.columns]
            if missing:
                raise UserError(
                    f"entity dataframe: feature view {plan.fv.name!r} joins on {', '.join(missing)}, which "
                    f"the entity dataframe lacks (it has {', '.join(map(str, entity_df.columns))}). Add the column."
                )
        entity = _entity_arrow(entity_df, ts_col)
        entity_columns = list(entity_df.columns)
        odfvs = OnDemandFeatureView.get_requested_odfvs(feature_refs, project, registry)
        t = entity.column("__t")
        metadata = RetrievalMetadata(
            features=feature_refs,
            keys=[c for c in entity_columns if c != ts_col],
            min_event_timestamp=t.to_pandas().min().to_pydatetime() if len(t) else None,
            max_event_timestamp=t.to_pandas().max().to_pydatetime() if len(t) else None,
        )
        created_filter = bool(filter_by_created_timestamp)
        sql_preview = build_pit_sql(
            plans, entity_columns, [f"<{p.source.name}>" for p in plans], created_filter
        )

        def run() -> pa.Table:
            con = _duckdb_cursor()
            try:
                con.register("__entity", entity)
                sources = [_source_relation(p, con, f"__empty_{i}_{uuid.uuid4().hex[:8]}") for i, p in enumerate(plans)]
                parts = [con.sql(q).to_arrow_table()
                         for q in build_pit_sqls(plans, entity_columns, sources, created_filter)]
                result = parts[0]
                for plan, part in zip(plans, parts[1:]):
                    for name in plan.output_names:
                        result = result.append_column(part.schema.field(name), part.column(name))
            finally:
                con.close()
            return result

        return NbaRetrievalJob(
            run, sql_preview,
            [fv for fv in odfvs if fv.mode != "substrait"],
            full_feature_names, metadata,
        )

    @staticmethod
    def pull_latest_from_table_or_query(
        config: RepoConfig,
        data_source: DataSource,
        join_key_columns: list[str],
        feature_name_columns: list[str],
        timestamp_field: str,
        created_timestamp_column: Optional[str],
        start_date: datetime,
        end_date: datetime,
    ) -> RetrievalJob:
        """The latest row per key with ``start_date <= event time <= end_date`` (ties on the
        event time go to the latest created_at), as Feast's stores define it."""
        if not isinstance(data_source, FileSource):
            return DuckDBOfflineStore.pull_latest_from_table_or_query(
                config, data_source, join_key_columns, feature_name_columns, timestamp_field,
                created_timestamp_column, start_date, end_date)
        order = f"{_ident(timestamp_field)} DESC" + (
            f", {_ident(created_timestamp_column)} DESC" if created_timestamp_column else "")
        partition = ", ".join(_ident(k) for k in join_key_columns) or "NULL"
        return _pull_parquet(
            data_source, join_key_columns, feature_name_columns, timestamp_field, created_timestamp_column,
            start_date, end_date,
            qualify=f"row_number() OVER (PARTITION BY {partition} ORDER BY {order}) = 1",
        )

    @staticmethod
    def pull_all_from_table_or_query(
        config: RepoConfig,
        data_source: DataSource,
        join_key_columns: list[str],
        feature_name_columns: list[str],
        timestamp_field: str,
        created_timestamp_column: Optional[str] = None,
        start_date: Optional[datetime] = None,
        end_date: Optional[datetime] = None,
    ) -> RetrievalJob:
        """Every row with ``start_date <= event time <= end_date`` (either bound optional)."""
        if not isinstance(data_source, FileSource):
            return DuckDBOfflineStore.pull_all_from_table_or_query(
                config, data_source, join_key_columns, feature_name_columns, timestamp_field,
                created_timestamp_column, start_date, end_date)
        return _pull_parquet(
            data_source, join_key_columns, feature_name_columns, timestamp_field, created_timestamp_column,
            start_date, end_date,
        )

    def validate_data_source(self, config: RepoConfig, data_source: DataSource) -> None:
        """At ``feast apply``: a table with partitions must carry the source's time columns.

        A table with no partition yet is fine (a fresh clone applies before any data).
        """
        if not isinstance(data_source, FileSource):
            return super().validate_data_source(config, data_source)
        files = sorted(glob.glob(resolved_path(data_source)))
        if not files:
            return
        names = pq.read_schema(files[0]).names
        needed = [c for c in (data_source.timestamp_field, data_source.created_timestamp_column) if c]
        missing = [c for c in needed if c not in names]
        if missing:
            raise UserError(
                f"data source {data_source.name!r}: {files[0]} has no column {', '.join(missing)} (it has "
                f"{', '.join(names)}). Rewrite the table with its declared schema (nbafs transform)."
            )

    def get_table_column_names_and_types_from_data_source(self, config: RepoConfig, data_source: DataSource):
        if not isinstance(data_source, FileSource):
            return super().get_table_column_names_and_types_from_data_source(config, data_source)
        files = sorted(glob.glob(resolved_path(data_source)))
        schema = pq.read_schema(files[0]) if files else _empty_table_for(data_source).schema
        return [(f.name, str(f.type)) for f in schema]

    @staticmethod
    def write_logged_features(config: RepoConfig, data, source, logging_config, registry: BaseRegistry) -> None:
        """Served feature vectors (``feast_plugins/feature_log.py``) appended to the log table.

        The destination is a ``FileLoggingDestination`` whose relative path is taken under
        NBAFS_DATA_DIR like our FileSources. Each call adds one parquet file per
        ``__log_date`` under ``<path>/__log_date=<date>/`` (Feast's partition layout; the
        file keeps the column too), written beside its final name and renamed, so a
        reader never sees half a file. Rows must have the source's logging schema.
        """
        from feast.infra.offline_stores.file_source import FileLoggingDestination

        destination = logging_config.destination
        if not isinstance(destination, FileLoggingDestination):
            raise UserError(
                f"{CLASS_PATH} writes feature logs to a FileLoggingDestination only, not "
                f"{type(destination).__name__}: fix the feature service's logging_config (feature_repo/feature_services.py)."
            )
        schema = source.get_schema(registry)
        table = pq.read_table(data) if not isinstance(data, pa.Table) else data
        missing = [n for n in schema.names if n not in table.column_names]
        if missing:
            raise UserError(
                f"feature log for {destination.path}: rows lack the column(s) {', '.join(missing)} of the logging "
                f"schema (they have {', '.join(table.column_names)}); run `feast apply` if the service changed."
            )
        table = table.select(schema.names).cast(schema)
        root = paths.resolve_in_data_dir(destination.path)
        partition = list(destination.partition_by or [])
        if partition not in ([], ["__log_date"]):
            raise UserError(f"feature log for {destination.path}: partition_by {partition}; use ['__log_date'] or none")
        parts = [(root, table)]
        if partition:
            import pyarrow.compute as pc

            dates = table.column("__log_date")
            parts = [(root / f"__log_date={day.isoformat()}", table.filter(pc.equal(dates, pa.scalar(day, pa.date32()))))
                     for day in sorted(set(dates.to_pylist()))]
        for directory, rows in parts:
            directory.mkdir(parents=True, exist_ok=True)
            name = f"{uuid.uuid4().hex}.parquet"
            tmp = directory / f".{name}.tmp"
            pq.write_table(rows, tmp)
            os.replace(tmp, directory / name)

    @staticmethod
    def offline_write_batch(config: RepoConfig, feature_view: FeatureView, table: pa.Table, progress):
        """Pushed rows (``store.push(..., to=OFFLINE|ONLINE_AND_OFFLINE)``) into the view's table."""
        merge_pushed_rows(feature_view, table)
        if progress:
            progress(table.num_rows)


# --- pushed rows into the warehouse ---------------------------------------------------------

_MERGE_LOCK = threading.Lock()  # feast serve writes pushes from a thread pool: one merge at a time


def merge_pushed_rows(feature_view: FeatureView, table: pa.Table) -> int:
    """Merge rows pushed to ``feature_view`` into its batch source's warehouse table; rows merged.

    Both profiles' offline stores write through here, on the warehouse seam
    (``warehouse.engine``): the rows are validated against the table's declaration
    (``warehouse.validate.conform``: columns, types, NOT NULL, minimums, one row per grain
    key), then each game-date partition they touch is rewritten with them, a stored row
    with the same grain key (for the consensus lines: game, player, snapshot) being
    replaced. Pushing the same rows twice therefore changes nothing, as importing a file
    twice does, and a later ``nbafs transform`` of the same raw rows writes the same table.
    """
    from warehouse import columns, engine, schema
    from warehouse.validate import closest_name, conform

    source = feature_view.batch_source
    fqn = source.name if source is not None else None
    if fqn is None or not columns.is_declared(fqn):
        raise UserError(
            f"feature view {feature_view.name!r}: its batch source {fqn!r} is not a table of "
            f"warehouse/schema.py, so pushed rows have no warehouse table to land in. Push to a view "
            f"whose batch source is a warehouse table, or push with to=online only."
        )
    target = schema.table(fqn)
    where = f"rows pushed to feature view {feature_view.name!r} (table {fqn})"
    names = [n for n in table.column_names if not n.startswith("__index_level_")]
    extra = [n for n in names if n not in target.column_names]
    if extra:
        hints = [f"{n!r}" + (f" (closest declared: {near!r})" if (near := closest_name(n, target.column_names)) else "")
                 for n in extra]
        raise UserError(
            f"{where}: column(s) {', '.join(hints)} are not columns of {fqn}. Expected exactly the declared "
            f"columns ({', '.join(target.column_names)}); rename or drop them; nothing was written."
        )
    data = conform(target, table.select(names).to_pandas(), source=where)
    if not data.num_rows:
        return 0
    dates = sorted(set(data.column(target.partition_by).to_pylist()))
    keys = list(target.grain)
    wh = engine.current()
    with _MERGE_LOCK:
        stored = wh.read(target, dates[0], dates[-1]).to_pandas()
        stored = stored[pd.to_datetime(stored[target.partition_by]).dt.date.isin(dates)]
        new = data.to_pandas()
        replaced = pd.MultiIndex.from_frame(stored[keys]).isin(pd.MultiIndex.from_frame(new[keys]))
        merged = pd.concat([stored[~replaced], new], ignore_index=True)
        wh.write_partitions(target, conform(target, merged, source=where), replace_dates=dates)
    return data.num_rows
