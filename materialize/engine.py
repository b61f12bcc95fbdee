"""The batch engine that ``feast materialize`` uses (``feature_store.yaml``: ``batch_engine``).

``feast materialize START END`` and ``feast materialize-incremental END`` hand this
engine one task per feature view (``supports_batch``: all views in one call). It runs
them together, game date by game date::

    preflight (columns the views read exist, typed)   -> PreflightError, nothing written
    plan: rows per UTC day per view (the warehouse engine's ``event_day_counts``: parquet
          footers locally, a GROUP BY on BigQuery), days
          grouped into chunks of at most ``max_rows_per_chunk`` rows (a day is never split)
    for each chunk, in time order:
        read every view's rows of the chunk through the offline store
        quality gates per game date (feature_repo/catalog.py)   -> GateError, nothing of
                                                                   the chunk written
        keep each entity's latest row (event_timestamp, created_at) in the chunk
        write it online: the store's ``write_arrow`` if it has one (ours: the Arrow
        chunk as is, no protobuf per value), else Feast's ``online_write_batch``
        checkpoint each view: done through the chunk's end

Why this gives the guarantees of issue 4:

- *Memory* is bounded by the chunk, not the window: the plan holds one count per day,
  rows are read chunk by chunk.
- *Monotonic*: chunks go forward in time, and the online store (NbaSqliteOnlineStore
  locally, NbaRedisOnlineStore in production, one rule) replaces a value only with one
  whose event time is later, or equal with a created time not older, so an old window
  materialized after a new one changes nothing and a late correction lands.
- *Resume*: the checkpoint (files locally, GCS objects in production: materialize/state.py)
  is saved after the chunk's write committed. A run killed at
  any moment resumes after the last checkpointed chunk and rewrites at most one chunk
  with identical values: the store ends identical to an uninterrupted run's. The final
  store does not depend on how the window was chunked: each entity ends with its
  latest row of the window.
- *Idempotent*: a completed run started again is rewritten, not skipped (see
  ``checkpoint.CheckpointStore.begin`` for why); equal event timestamps overwrite with
  equal values.

Online writes: NbaSqliteOnlineStore's ``write_arrow`` applies the same monotonic rule as
its ``online_write_batch`` and leaves an identical store (tests/test_engine.py compares
whole-store dumps), without an ``EntityKey``/``Value`` protobuf per row and value: the
real season's 17,703 context rows are written in 0.05 s instead of 0.53 s.
Any other online store (Feast's stock ones, e.g. production's Redis) gets
``online_write_batch`` with protos; ``arrow_writes: false`` in the yaml forces that path.

Chunk size: ``max_rows_per_chunk`` in the yaml (default 200,000), or the environment
variable ``NBAFS_CHUNK_ROWS`` (``1`` = one game date per chunk). Each chunk costs one
offline read and one online transaction per view, whatever its size; 200,000 rows (all
views, about 130 game dates of ten generated seasons) keep the Arrow chunk near 60 MB and cut
a ten-season materialization's reads from 416 to 104 (CPU 19.9 s -> 16.2 s).

Window bounds follow Feast: ``[start, end]``, both inclusive. Chunks are half-open
``[lo, hi)`` on UTC midnights; the offline store is asked for ``[lo, hi - 1us]`` and the
result is filtered again, so no row is read twice or lost at a boundary.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, List, Literal, Sequence, Union

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import StrictBool, StrictInt

from feast import BatchFeatureView, Entity, FeatureView, OnDemandFeatureView, StreamFeatureView
from feast.infra.common.materialization_job import MaterializationJobStatus, MaterializationTask
from feast.infra.compute_engines.local.compute import LocalComputeEngine, LocalComputeEngineConfig
from feast.infra.compute_engines.local.job import LocalMaterializationJob
from feast.infra.registry.base_registry import BaseRegistry
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import python_values_to_proto_values
from feast.utils import _get_column_names
from feast.value_type import ValueType

from materialize import DEFAULT_MAX_ROWS_PER_CHUNK
from materialize import gates as gates_mod
from materialize import preflight, progress, state
from materialize.checkpoint import Checkpoint, CheckpointStore, run_key
from nbafs.errors import clean_user_errors_under_feast_cli
from warehouse.engine_duckdb import footer_day_counts, footer_schemas

log = logging.getLogger(__name__)
UTC = dt.timezone.utc
ONE_US = dt.timedelta(microseconds=1)
CHUNK_ROWS_ENV = "NBAFS_CHUNK_ROWS"

clean_user_errors_under_feast_cli()  # a failing gate under `feast materialize`: its message, no traceback


class NbaBatchEngineConfig(LocalComputeEngineConfig):
    type: Literal["materialize.engine.NbaBatchEngine"] = "materialize.engine.NbaBatchEngine"  # type: ignore[assignment]
    max_rows_per_chunk: StrictInt = DEFAULT_MAX_ROWS_PER_CHUNK
    """Days are grouped into a chunk until it would hold more rows than this (all views)."""
    arrow_writes: StrictBool = True
    """Write chunks with the online store's ``write_arrow`` when it has one (else protos)."""


@dataclass
class ViewRun:
    """One feature view's part of a materialization run."""

    task: MaterializationTask
    view: FeatureView
    join_keys: list[str]
    join_key_types: dict[str, Any]
    feature_cols: list[str]  # source column names, in feature order
    ts_col: str
    created_col: str | None
    extra_cols: list[str]  # gate inputs and game_date, beyond the served columns
    gates: list[gates_mod.Gate]
    date_col: str | None  # column naming the game date, if the source has one
    checkpoint: Checkpoint
    start: dt.datetime  # where this run starts reading (window start, or the resume point)
    end_excl: dt.datetime  # window end + 1us (Feast's end is inclusive)
    days: dict[dt.date, int] = field(default_factory=dict)  # rows per UTC day still to do
    spans: list[tuple[dt.datetime, dt.datetime]] | None = None  # event-time range per partition file, if known

    def may_have_rows(self, lo: dt.datetime, hi: dt.datetime) -> bool:
        """False only when the partition footers prove no event falls in [lo, hi)."""
        return self.spans is None or any(a < hi and b >= lo for a, b in self.spans)


@dataclass
class RunSummary:
    """What the last ``materialize`` call did (the backfill report reads it)."""

    views: dict[str, Checkpoint] = field(default_factory=dict)
    rows_read: int = 0
    rows_written: int = 0
    chunks: int = 0
    dates: int = 0
    seconds: float = 0.0
    resumed: dict[str, str] = field(default_factory=dict)  # view -> resumed from


class NbaBatchEngine(LocalComputeEngine):
    """Chunked, gated, checkpointed, monotonic materialization (see the module docstring)."""

    def __init__(self, *, repo_config, offline_store, online_store, **kwargs):
        self.config = NbaBatchEngineConfig(**kwargs)
        super().__init__(
            repo_config=repo_config, offline_store=offline_store, online_store=online_store,
            backend=self.config.backend,
        )
        self.last_run: RunSummary | None = None

    @property
    def supports_batch(self) -> bool:
        # All views in one call: one progress display, and a failing gate on a date stops
        # every view before anything of that date is written.
        return True

    @property
    def max_rows_per_chunk(self) -> int:
        raw = os.environ.get(CHUNK_ROWS_ENV, "").strip()
        return int(raw) if raw else self.config.max_rows_per_chunk

    # --- feast apply ---------------------------------------------------------------------
    def update(
        self,
        project: str,
        views_to_delete: Sequence[Union[BatchFeatureView, StreamFeatureView, FeatureView]],
        views_to_keep: Sequence[Union[BatchFeatureView, StreamFeatureView, FeatureView, OnDemandFeatureView]],
        entities_to_delete: Sequence[Entity],
        entities_to_keep: Sequence[Entity],
    ):
        """``feast apply`` calls this before committing the registry: run the schema preflight."""
        batch_views = [v for v in views_to_keep if not isinstance(v, OnDemandFeatureView)]
        preflight.run(views=batch_views)

    # --- feast materialize ---------------------------------------------------------------
    def materialize(self, registry: BaseRegistry, tasks, **kwargs) -> List[LocalMaterializationJob]:
        if isinstance(tasks, MaterializationTask):
            tasks = [tasks]
        tasks = list(tasks)
        t0 = dt.datetime.now(UTC)
        run_state = state.open(tasks[0].project if tasks else self.repo_config.project)
        with run_state.lock("feast materialize", say=_say):
            self._materialize(registry, tasks, run_state.checkpoints)
        if self.last_run is not None:
            self.last_run.seconds = (dt.datetime.now(UTC) - t0).total_seconds()
        return [
            LocalMaterializationJob(
                job_id=f"{t.feature_view.name}-{t.start_time}-{t.end_time}",
                status=MaterializationJobStatus.SUCCEEDED,
            )
            for t in tasks
        ]

    def _materialize(self, registry: BaseRegistry, tasks: list[MaterializationTask],
                     checkpoints: CheckpointStore) -> None:
        views = [t.feature_view for t in tasks]
        preflight.check(preflight.feature_view_reads(views), files=preflight.source_files(views))
        summary = RunSummary()
        self.last_run = summary
        runs = [self._plan_view(registry, t, checkpoints) for t in tasks]
        for r in runs:
            summary.views[r.view.name] = r.checkpoint
            if r.checkpoint.resumed_from:
                summary.resumed[r.view.name] = r.checkpoint.resumed_from
        active = [r for r in runs if r.view.online and r.start < r.end_excl]
        for r in active:
            r.days = self._day_counts(r)
        chunks = _chunks(active, self.max_rows_per_chunk)
        all_days = sorted({d for r in active for d in r.days})
        total_rows = sum(n for r in active for n in r.days.values())
        con = duckdb.connect()  # for eligible_when conditions too rich for Arrow compute
        con.execute("SET TimeZone = 'UTC'")
        try:
            self._run_chunks(con, chunks, active, all_days, total_rows, summary, checkpoints)
        finally:
            con.close()
        for r in runs:
            r.checkpoint.completed = True
            r.checkpoint.done_through = r.checkpoint.done_through or r.end_excl.isoformat()
            checkpoints.save(r.checkpoint)

    def _run_chunks(self, con, chunks, active: list[ViewRun], all_days, total_rows: int,
                    summary: RunSummary, checkpoints: CheckpointStore) -> None:
        with progress.phase("materialize", total_rows=total_rows, total_dates=len(all_days)) as bar:
            for name, since in summary.resumed.items():
                bar.note(f"{name}: resuming an interrupted run, already written through {since}")
            for lo, hi in chunks:
                parts = []
                failures: list[gates_mod.GateFailure] = []
                rows_in_chunk = 0
                empty = []
                for r in active:
                    a, b = max(lo, r.start), min(hi, r.end_excl)
                    if a >= b:
                        continue
                    if not r.may_have_rows(a, b):
                        empty.append((r, b))  # the footers prove there is nothing to read or write
                        continue
                    table = self._read(r, a, b)
                    rows_in_chunk += table.num_rows
                    figures = gates_mod.measure(con, table, r.gates) if r.gates else {}
                    failures += gates_mod.judge(r.gates, figures)
                    parts.append((r, b, table, figures))
                if failures:
                    before = any(r.checkpoint.done_through for r in active)  # earlier chunks (this run or the one resumed)
                    raise gates_mod.GateError(
                        failures,
                        (lo.date().isoformat(), (hi - ONE_US).date().isoformat()),
                        (lo - ONE_US).date().isoformat() if before else None,
                    )
                for r, b, table, figures in parts:
                    written_rows = self._write(r, table)
                    cp = r.checkpoint
                    cp.done_through = b.isoformat()
                    cp.chunks_done += 1
                    cp.rows_read += table.num_rows
                    cp.rows_written += written_rows
                    checkpoints.save(cp, figures)
                    summary.rows_read += table.num_rows
                    summary.rows_written += written_rows
                for r, b in empty:
                    r.checkpoint.done_through = b.isoformat()
                    checkpoints.save(r.checkpoint)
                summary.chunks += 1
                n_dates = sum(1 for d in all_days if lo <= _midnight(d) < hi or (d == lo.date()))
                summary.dates += n_dates
                bar.advance(rows=rows_in_chunk, dates=n_dates)
            bar.set_totals(rows=bar.rows)  # the plan's count is per partition file; this is exact

    # --- planning --------------------------------------------------------------------------
    def _plan_view(self, registry: BaseRegistry, task: MaterializationTask, checkpoints: CheckpointStore) -> ViewRun:
        view = task.feature_view
        entities = [registry.get_entity(name, task.project) for name in view.entities]
        join_keys, feature_cols, ts_col, created_col = _get_column_names(view, entities)
        join_key_types = {ec.name: ec.dtype.to_value_type() for ec in view.entity_columns}
        gates = gates_mod.gates_for(view.name, [f.name for f in view.features])
        source_cols = _source_columns(view)
        extra = [c for c in gates_mod.extra_columns(gates) if c not in feature_cols and c not in join_keys]
        date_col = "game_date" if "game_date" in source_cols else None
        if date_col and date_col not in extra and date_col not in feature_cols and date_col not in join_keys:
            extra.append(date_col)
        start = _utc(task.start_time)
        end_excl = _utc(task.end_time) + ONE_US
        key = run_key(_fingerprint(view), start, end_excl)
        cp = checkpoints.begin(view.name, key, start, end_excl - ONE_US)
        resume = cp.done_through_ts if cp.resumed_from else None
        return ViewRun(
            task=task, view=view, join_keys=join_keys, join_key_types=join_key_types,
            feature_cols=feature_cols, ts_col=ts_col, created_col=created_col, extra_cols=extra,
            gates=gates, date_col=date_col, checkpoint=cp,
            start=max(start, resume) if resume else start, end_excl=end_excl,
        )

    def _pull(self, r: ViewRun, lo: dt.datetime, hi: dt.datetime, columns: list[str], with_keys: bool) -> pa.Table:
        """Rows with event time in [lo, hi) through the offline store (its bounds are inclusive)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)  # ibis on newer DuckDB
            job = self.offline_store.pull_all_from_table_or_query(
                config=self.repo_config,
                data_source=r.view.batch_source,
                join_key_columns=r.join_keys if with_keys else [],
                feature_name_columns=columns,
                timestamp_field=r.ts_col,
                created_timestamp_column=r.created_col if with_keys else None,
                start_date=lo,
                end_date=hi - ONE_US,
            )
            table = job.to_arrow()
        ts = table.column(r.ts_col)
        if pa.types.is_timestamp(ts.type) and ts.type.tz is None:
            ts = pc.assume_timezone(ts, "UTC")  # Feast's readers hand back naive UTC
        ts = ts.cast(pa.timestamp("us", tz="UTC"))
        table = table.set_column(table.schema.get_field_index(r.ts_col), r.ts_col, ts)
        lo_s = pa.scalar(lo, type=pa.timestamp("us", tz="UTC"))
        hi_s = pa.scalar(hi, type=pa.timestamp("us", tz="UTC"))
        mask = pc.and_(pc.greater_equal(ts, lo_s), pc.less(ts, hi_s))
        return table.filter(mask)

    def _day_counts(self, r: ViewRun) -> dict[dt.date, int]:
        """Rows per UTC day of event time in what is left of the window.

        For a warehouse table this comes from the warehouse engine (locally the partitions'
        footers, without reading a row; on BigQuery one GROUP BY of the event times), for a
        parquet FileSource elsewhere from its footers (row count and
        event-time range per file; a file's rows count on the day of its earliest
        event), without reading a row. Otherwise: one pull of the event timestamps.
        """
        planned = _planned_days(r)
        if planned is not None:
            return planned
        table = self._pull(r, r.start, r.end_excl, [], with_keys=False)
        if table.num_rows == 0:
            return {}
        days = pc.cast(pc.floor_temporal(table.column(r.ts_col), unit="day"), pa.date32())
        counts = pc.value_counts(days)
        return {v["values"].as_py(): v["counts"].as_py() for v in counts}

    # --- one chunk -------------------------------------------------------------------------
    def _read(self, r: ViewRun, lo: dt.datetime, hi: dt.datetime) -> pa.Table:
        table = self._pull(r, lo, hi, r.feature_cols + r.extra_cols, with_keys=True)
        mapping = r.view.batch_source.field_mapping or {}
        if mapping:
            table = table.rename_columns([mapping.get(c, c) for c in table.column_names])
        if r.date_col:
            day = table.column(r.date_col)
            if pa.types.is_timestamp(day.type):
                day = pc.cast(day, pa.date32())
            table = table.append_column(gates_mod.DATE_COLUMN, day.cast(pa.date32()))
        else:
            ts = table.column(r.ts_col).cast(pa.timestamp("us", tz="UTC"))
            table = table.append_column(gates_mod.DATE_COLUMN, pc.cast(pc.floor_temporal(ts, unit="day"), pa.date32()))
        return table

    def _write(self, r: ViewRun, table: pa.Table) -> int:
        """Keep each entity's latest row of the chunk and write it online; rows written."""
        if table.num_rows == 0:
            return 0
        latest = _latest_per_entity(table, list(r.join_key_types), r.ts_col, r.created_col)
        write_arrow = self._arrow_writer()
        if write_arrow is not None:
            return write_arrow(self.repo_config, r.view, latest, r.ts_col, r.created_col)
        rows = _to_protos(latest, r.view, r.join_key_types, r.ts_col, r.created_col)
        self.online_store.online_write_batch(
            config=self.repo_config, table=r.view, data=rows, progress=None,
        )
        return len(rows)

    def _arrow_writer(self):
        """The online store's ``write_arrow(config, view, table, ts_col, created_col)``, or None.

        None when the store has none (Feast's stock stores) or ``arrow_writes`` is off:
        the chunk then goes through ``online_write_batch`` as protos.
        """
        if not self.config.arrow_writes:
            return None
        method = getattr(self.online_store, "write_arrow", None)
        return method if callable(method) else None


# --- helpers --------------------------------------------------------------------------------


def _say(message: str) -> None:
    d = progress.current()
    if d is not None:
        d.line(message)
    else:
        print(message, file=sys.stderr, flush=True)


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _source_columns(view: FeatureView) -> set[str]:
    """Column names of the view's source: a warehouse table's declaration, else a footer; empty when unknown."""
    from warehouse.schema import table as declared

    fqn = preflight.source_table(view.batch_source)
    if fqn:
        return set(declared(fqn).column_names)
    files = preflight.source_files([view])
    schemas = footer_schemas(next(iter(files.values()))) if files else []
    return set(schemas[-1].schema.names) if schemas else set()


def _planned_days(r: ViewRun) -> dict[dt.date, int] | None:
    """Rows per UTC day of the view's event time in [r.start, r.end_excl) without a pull, or None."""
    from warehouse import engine as warehouse_engine
    from warehouse.schema import table as declared

    fqn = preflight.source_table(r.view.batch_source)
    if fqn:
        plan = warehouse_engine.current().event_day_counts(declared(fqn), r.ts_col, r.start, r.end_excl)
    else:
        files = preflight.source_files([r.view])
        plan = footer_day_counts(next(iter(files.values())), r.ts_col, r.start, r.end_excl) if files else None
    if plan is None:
        return None
    r.spans = plan.spans
    return plan.days


def _fingerprint(view: FeatureView) -> str:
    """What makes two runs of a view the same run: its name, columns, types and source."""
    src = view.batch_source
    parts = [view.name, ",".join(view.entities), ",".join(f"{f.name}:{f.dtype}" for f in view.features)]
    if src is not None:
        parts += [getattr(src, "path", "") or src.name, src.timestamp_field, src.created_timestamp_column or ""]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _chunks(runs: list[ViewRun], max_rows: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """Half-open intervals covering every run's window without gap, split at UTC midnights.

    Consecutive days are grouped until a chunk would exceed ``max_rows`` (all views
    together); a day is never split. The first chunk starts at the earliest run start
    and the last ends at the latest run end, so no row is left between two chunks
    even where the plan's day counts are approximate.
    """
    if not runs:
        return []
    first = min(r.start for r in runs)
    last = max(r.end_excl for r in runs)
    per_day: dict[dt.date, int] = {}
    for r in runs:
        for d, n in r.days.items():
            per_day[d] = per_day.get(d, 0) + n
    cuts: list[dt.datetime] = []
    rows = 0
    for d in sorted(per_day):
        if rows and rows + per_day[d] > max_rows:
            cut = _midnight(d)
            if first < cut < last:
                cuts.append(cut)
            rows = 0
        rows += per_day[d]
    bounds = [first, *cuts, last]
    return list(zip(bounds[:-1], bounds[1:]))


def _midnight(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(), UTC)


def _latest_per_entity(table: pa.Table, keys: list[str], ts_col: str, created_col: str | None) -> pa.Table:
    """Each entity's row with the greatest (event timestamp, created timestamp): sort once, keep run heads."""
    n = table.num_rows
    if n <= 1:
        return table
    order = [(k, "ascending") for k in keys] + [(ts_col, "descending")]
    if created_col:
        order.append((created_col, "descending"))
    t = table.take(pc.sort_indices(table, sort_keys=order))
    same = np.ones(n - 1, dtype=bool)
    for k in keys:
        col = t.column(k).combine_chunks()
        a, b = col.slice(1), col.slice(0, n - 1)
        equal = pc.fill_null(pc.equal(a, b), False)
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        same &= pc.or_(equal, both_null).to_numpy(zero_copy_only=False)
    head = np.ones(n, dtype=bool)
    head[1:] = ~same
    return t.filter(pa.array(head))


def _to_protos(table: pa.Table, view: FeatureView, join_key_types: dict, ts_col: str, created_col: str | None):
    """Arrow rows -> Feast's (EntityKey, {feature: Value}, event_ts, created_ts) tuples, column by column.

    For online stores without ``write_arrow`` (Feast's stock stores).
    Same values as Feast's ``_convert_arrow_to_proto`` (NULL and NaN become an empty
    Value; a test holds them equal), 1.5-2x faster (17,703 context rows: 0.30 s vs 0.57 s):
    a column's protos are built in one comprehension from Arrow's Python values, and
    repeated values (ints, bools, strings) share one proto (the store only reads them).
    """
    n = table.num_rows
    names = [f.name for f in view.features]
    columns = [_column_protos(table.column(f.name), f.dtype.to_value_type()) for f in view.features]
    key_names = list(join_key_types)
    key_columns = [_column_protos(table.column(k), t) for k, t in join_key_types.items()]
    entity_keys = [EntityKeyProto(join_keys=key_names, entity_values=vals) for vals in zip(*key_columns)]
    features = [dict(zip(names, row)) for row in zip(*columns)] if names else [{} for _ in range(n)]
    event_ts = table.column(ts_col).cast(pa.timestamp("us", tz="UTC")).to_pylist()
    created = (
        table.column(created_col).cast(pa.timestamp("us", tz="UTC")).to_pylist() if created_col else [None] * n
    )
    return list(zip(entity_keys, features, event_ts, created))


_EMPTY = ValueProto()


def _column_protos(column: pa.ChunkedArray, value_type: ValueType) -> list[ValueProto]:
    values = column.to_pylist()
    V, E = ValueProto, _EMPTY
    if value_type == ValueType.DOUBLE:
        return [E if v is None or v != v else V(double_val=v) for v in values]
    if value_type == ValueType.FLOAT:
        return [E if v is None or v != v else V(float_val=v) for v in values]
    attr = _CACHEABLE.get(value_type)
    if attr is not None:
        cache: dict[Any, ValueProto] = {None: E}
        out = []
        for v in values:
            p = cache.get(v)
            if p is None:
                p = cache[v] = V(**{attr: v})
            out.append(p)
        return out
    return python_values_to_proto_values(column.to_numpy(zero_copy_only=False), value_type)


_CACHEABLE = {
    ValueType.INT64: "int64_val",
    ValueType.INT32: "int32_val",
    ValueType.BOOL: "bool_val",
    ValueType.STRING: "string_val",
}
