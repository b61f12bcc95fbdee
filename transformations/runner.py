"""Run the phase transformations for a range of game dates.

    nbafs transform                                 the whole warehouse range
    nbafs transform --start 2025-11-13 --end 2026-01-30
    nbafs transform --print-sql                     the statements, not run
    NBAFS_PROFILE=prod nbafs transform              the same on BigQuery

The derived tables of ``transformations.steps.STEPS``, in that order (each layer reads
the ones before it), each built by one BigQuery SQL file under transformations/sql/
(the production truth): player_game_summary (box score, team totals, usage_rate), the
line consensus tables, upcoming_player_game_context (rolling form, schedule context),
player_stat_form, player_availability, ..., player_composite_factors (season usage
rate, usage_spike_score). docs/tables.md lists them all.

Rows come out for the game dates --start .. --end (default: the first to the last date
of the raw tables, future scheduled games included); rolling and season-to-date
windows read the games before --start, so a later range needs the earlier summary rows
(the command tells you when they are missing).

The profile (NBAFS_PROFILE, ``warehouse.engine.current()``) picks the engine:

- local (default): each SQL file is transpiled to DuckDB with sqlglot and run on the
  embedded warehouse (NBAFS_DATA_DIR), a season at a time (a line per season), two
  seasons at once on two cores (``run_local``), so ten seasons need the memory of one
  or two. A season's queries open only the files of the dates they may read
  (``read_window``), so its cost does not grow with the warehouse's history. Each
  result is checked against the declared schema (warehouse/schema.py) and staged
  beside the table's files; the steps after it read the staged rows, and the game
  dates of the range are replaced in every table at once at the end (a killed run
  leaves the previous files as they were).
- prod: the same SQL, submitted to BigQuery as one script with @start_date/@end_date
  query parameters (``transformations.bigquery``): input checks first, then one
  transaction deleting and re-inserting the range of each table. The derived tables
  are created from warehouse/schema.py when they do not exist yet.

Either way a failure anywhere writes nothing, and reruns are idempotent. --print-sql
prints the statements of the active profile (the BigQuery script, or the DuckDB SQL)
instead of running them.

Before anything runs, the inputs are checked: missing or renamed columns by the
warehouse's schema check (``warehouse.columns``, the same one the backfill preflight
runs), then duplicate rows, negative counts, box scores without team totals or without
a schedule row; the first problem stops the run with a message naming the table, the
row and the column.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import duckdb
import pyarrow as pa

from nbafs.errors import UserError
from nbafs.timeline import argparse_date, season_bounds, season_of
from transformations import checks, freshness
from transformations.steps import STEPS, Step, column_reads, history_years, raw_inputs
from warehouse import columns, engine, storage
from warehouse.schema import BDL_PLAYER_BOXSCORES, PLAYER_GAME_SUMMARY, RAW_TABLES
from warehouse.validate import conform_arrow

# DuckDB's memory for the seasons in flight, shared by the workers (its default is 80% of
# the machine's RAM).
MEMORY_LIMIT_MB = 1000

@dataclass
class TableReport:
    table: str
    rows: int
    seconds: float


@dataclass
class TransformReport:
    start: dt.date
    end: dt.date
    profile: str
    tables: list[TableReport] = field(default_factory=list)
    seconds: float = 0.0

    def rows(self, fqn: str) -> int:
        return next(t.rows for t in self.tables if t.table == fqn)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=argparse_date, help="first game date (YYYY-MM-DD); default: the warehouse's first")
    parser.add_argument("--end", type=argparse_date, help="last game date (YYYY-MM-DD); default: the warehouse's last")
    parser.add_argument(
        "--print-sql", action="store_true",
        help="print the statements instead of running them (the BigQuery script with NBAFS_PROFILE=prod, "
             "else the DuckDB SQL)",
    )
    parser.add_argument("--profile", help=argparse.SUPPRESS)  # gone: the profile is NBAFS_PROFILE


def run(
    start: dt.date | argparse.Namespace | None = None,
    end: dt.date | None = None,
    *,
    progress: Callable[[str], None] | None = print,
) -> TransformReport | int:
    """Transform game dates ``start``..``end`` (default: the whole warehouse range) on the active engine.

    Returns a ``TransformReport`` (rows and seconds per table). Called with the parsed
    arguments of ``nbafs transform`` it is the command and returns an exit code.
    """
    if isinstance(start, argparse.Namespace):
        return _command(start)
    say = progress or (lambda _line: None)
    wh = engine.current()
    if wh.name == "bigquery":
        from transformations import bigquery

        start, end = resolve_range(start, end, wh)
        columns.check(column_reads(), warehouse=wh)
        _check_history(start, wh)
        return bigquery.run(wh, start, end, progress=say)
    return run_local(start, end, progress=say)


def _command(args: argparse.Namespace) -> int:
    if args.profile is not None:
        raise UserError(
            f"--profile {args.profile} is gone: the profile is the environment variable NBAFS_PROFILE "
            f"(`NBAFS_PROFILE=prod nbafs transform` runs the same SQL on BigQuery; unset, on the local warehouse)."
        )
    if args.print_sql:
        if engine.current().name == "bigquery":
            from transformations.bigquery import plan_bigquery

            start, end = resolve_range(args.start, args.end)
            plan = plan_bigquery(start, end)
            print(f"-- parameters: @start_date = DATE '{start}', @end_date = DATE '{end}'")
            print(plan.script)
        else:
            start, end = resolve_range(args.start, args.end)
            for step in STEPS:
                print(f"-- {step.table.fqn} ({step.display_path})\n{step.duckdb_sql(start, end)};\n")
        return 0
    report = run(args.start, args.end)
    total = sum(t.rows for t in report.tables)
    print(f"transformed {report.start} .. {report.end}: {total:,} rows in {report.seconds:.2f} s")
    return 0


def warehouse_range(wh: engine.Warehouse | None = None) -> tuple[dt.date, dt.date]:
    """First and last game date with rows in any raw table."""
    wh = wh or engine.current()
    days = [d for t in RAW_TABLES for d in wh.partitions(t)]
    if not days:
        raise UserError(
            f"{wh.where()} has no raw rows: run `nbafs generate` (sample season) or `nbafs import PATH` "
            f"first, or check {'NBAFS_GCP_PROJECT' if wh.name == 'bigquery' else 'NBAFS_DATA_DIR'}"
        )
    return min(days), max(days)


def resolve_range(start: dt.date | None, end: dt.date | None,
                  wh: engine.Warehouse | None = None) -> tuple[dt.date, dt.date]:
    if start is None or end is None:
        first, last = warehouse_range(wh)
        start = start or first
        end = end or last
    if start > end:
        raise UserError(f"--start {start} is after --end {end}: expected start <= end")
    return start, end


def season_chunks(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """``start``..``end`` cut at season boundaries (August 1): the ranges one pass computes."""
    chunks, lo = [], start
    while lo <= end:
        hi = min(end, season_bounds(lo)[1])
        chunks.append((lo, hi))
        lo = hi + dt.timedelta(days=1)
    return chunks


def run_local(
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    progress: Callable[[str], None] | None = print,
    by_season: bool = True,
    workers: int | None = None,
) -> TransformReport:
    """Run every step on DuckDB over the embedded warehouse, a season at a time; write it all at the end.

    Each season's results are staged as files beside the tables' own (``storage.Pending``)
    and read from there by the steps after them, so memory holds a season (one per worker)
    whatever the range, and nothing is in place until every season succeeded.

    Two phases, as the SQL reads across seasons in one place only (player_season_prior.sql
    reads the previous season's player_game_summary rows):

    1. per season: the input checks of what that season reads, then its
       player_game_summary;
    2. per season, every other step in order.

    Each phase spreads the seasons over ``workers`` threads (default: the machine's
    cores), each season with a DuckDB connection of its own: one season's queries keep
    about one core busy, so two seasons at once use two. Errors are raised in season
    order, as a run season by season would meet them.

    For whoever changes the SQL: in the second phase an earlier season may still be in
    flight, so a step may read only player_game_summary (complete for every season
    after the first phase) from an earlier season; a step that needs another derived
    table of the previous season needs that table built in the first phase too.

    ``by_season=False`` computes the range in one pass (the same rows; what the
    equivalence test compares against).
    """
    t_start = time.perf_counter()
    progress = progress or (lambda _line: None)
    wh = engine.current()
    if wh.name != "duckdb":
        raise UserError(f"run_local runs on the local warehouse; the active profile uses {wh.where()}")
    start, end = resolve_range(start, end, wh)
    report = TransformReport(start, end, "local")
    chunks = season_chunks(start, end) if by_season else [(start, end)]
    workers = max(1, min(len(chunks), workers or os.cpu_count() or 1))

    columns.check(column_reads(), warehouse=wh)
    _check_history(start, wh)
    freshness.forget()
    run = _LocalRun(storage.Pending(), workers, verbose=len(chunks) == 1, progress=progress)
    try:
        run.input_checks = checks.input_checks(raw_inputs())
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="transform") as pool:
            try:
                for summary in [pool.submit(run.summary, lo, hi) for lo, hi in chunks]:
                    summary.result()  # the first season's problem first, as a run season by season
                seasons = [pool.submit(run.season, lo, hi) for lo, hi in chunks]
                for season in seasons:  # in season order, as each is done
                    run.say(season.result())
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # nothing staged after the discard below
                raise
        t0 = time.perf_counter()
        run.pending.commit()
        freshness.record(start, end)
    except BaseException:
        run.pending.discard()
        raise
    report.tables = [TableReport(s.table.fqn, run.rows[s.table.fqn], run.seconds[s.table.fqn]) for s in STEPS]
    total_days = (end - start).days + 1
    progress(f"{'written: ' + str(len(STEPS)) + ' tables, ' + str(total_days) + ' days':<44} {'':>8}       "
             f"{time.perf_counter() - t0:6.2f} s")
    report.seconds = time.perf_counter() - t_start
    return report


class _LocalRun:
    """One local transform's staged files and figures, shared by its worker threads.

    ``Pending`` is not thread-safe: staging a table's files and listing them go through
    one lock (the seasons' months never overlap, so the order does not matter).
    """

    def __init__(self, pending: storage.Pending, workers: int, *, verbose: bool,
                 progress: Callable[[str], None]) -> None:
        self.pending = pending
        self.workers = workers
        self.verbose = verbose
        self.progress = progress
        self.lock = threading.Lock()
        self.rows = {s.table.fqn: 0 for s in STEPS}
        self.seconds = {s.table.fqn: 0.0 for s in STEPS}
        self.summary_rows: dict[tuple[dt.date, dt.date], int] = {}
        self.input_checks: list[checks.Check] = []

    def connect(self, lo: dt.date, hi: dt.date) -> duckdb.DuckDBPyConnection:
        """A connection whose views read the files of what ``lo``..``hi`` reads (``read_window``); with
        several workers, a core and a share of the memory each."""
        # the raw tables; each derived one is a view once this season's step has staged it
        con = storage.connect(window=read_window(lo, hi), tables=RAW_TABLES)
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT_MB // self.workers}MB'")
        if self.workers > 1:
            con.execute(f"SET threads = {max(1, (os.cpu_count() or 1) // self.workers)}")
        return con

    def step(self, con: duckdb.DuckDBPyConnection, step: Step, lo: dt.date, hi: dt.date) -> int:
        """Compute one step for ``lo``..``hi``, stage it, and let ``con`` read what is staged."""
        t0 = time.perf_counter()
        data = _compute(con, step, lo, hi)
        days = [lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1)]
        with self.lock:
            self.pending.write(step.table, data, replace_dates=days)
            staged = self.pending.files(step.table, *read_window(lo, hi))
            self.rows[step.table.fqn] += data.num_rows
            self.seconds[step.table.fqn] += time.perf_counter() - t0
        storage.attach_table(con, step.table, staged)
        if step is STEPS[0]:
            self.summary_rows[(lo, hi)] = data.num_rows
        if self.verbose:
            self.progress(f"{step.table.fqn:<44} {data.num_rows:>8,} rows  {time.perf_counter() - t0:6.2f} s")
        return data.num_rows

    def summary(self, lo: dt.date, hi: dt.date) -> None:
        """Phase 1 for one season: the input checks of what it reads, then its player_game_summary."""
        con = self.connect(lo, hi)
        try:
            checks.run_local(con, self.input_checks, {"start_date": lo, "end_date": hi})
            self.step(con, STEPS[0], lo, hi)
        finally:
            con.close()

    def say(self, season_line: str) -> None:
        if not self.verbose:  # one season: its steps had a line each
            self.progress(season_line)

    def season(self, lo: dt.date, hi: dt.date) -> str:
        """Every step after the summary for one season; its progress line."""
        t0 = time.perf_counter()
        con = self.connect(lo, hi)
        try:
            with self.lock:
                staged = self.pending.files(STEPS[0].table, *read_window(lo, hi))
            storage.attach_table(con, STEPS[0].table, staged)
            rows = self.summary_rows[(lo, hi)] + sum(self.step(con, step, lo, hi) for step in STEPS[1:])
        finally:
            con.close()
        label = f"season {season_of(lo)} ({lo} .. {hi})"
        return f"{label:<44} {rows:>8,} rows  {time.perf_counter() - t0:6.2f} s"


def read_window(lo: dt.date, hi: dt.date) -> tuple[dt.date, dt.date]:
    """The game dates the SQL may read to build ``lo``..``hi``: the files a season's queries open.

    From as many years before ``lo`` as the SQL reads back (``steps.history_years``: two,
    for player_season_prior.sql's previous season; one covers every season's August 1)
    to the last day of ``hi``'s season (rows joined on game_id are of the same game, so
    of its date). A view over these files instead of every file of the table keeps a
    season's cost the same whatever the warehouse's history.
    """
    first = lo.replace(year=lo.year - history_years(), day=1)
    return first, season_bounds(hi)[1]


def _compute(con: duckdb.DuckDBPyConnection, step: Step, start: dt.date, end: dt.date) -> pa.Table:
    try:
        result = con.sql(step.duckdb_sql(start, end)).to_arrow_table()
    except duckdb.Error as exc:
        raise UserError(f"{step.display_path} failed on DuckDB while building {step.table.fqn}: {exc}") from None
    return conform_arrow(step.table, result, source=step.display_path)


def _check_history(start: dt.date, wh: engine.Warehouse) -> None:
    """What the rows from ``start`` read must exist: the summary rows of this season and the previous one.

    The rolling and season-to-date windows read this season's games before ``start``, the
    prior-season features (player_season_prior.sql) the whole previous season; a summary
    missing where box scores exist would make them wrong or NULL without a word.
    """
    seasons = {season_of(start), season_of(season_bounds(start)[0] - dt.timedelta(days=1))}
    have = set(wh.partitions(PLAYER_GAME_SUMMARY))
    missing = [
        d for d in wh.partitions(BDL_PLAYER_BOXSCORES)
        if d < start and season_of(d) in seasons and d not in have
    ]
    if missing:
        raise UserError(
            f"{PLAYER_GAME_SUMMARY.fqn} has no rows for {len(missing)} game date(s) of season(s) "
            f"{', '.join(sorted({season_of(d) for d in missing}))} before --start {start} ({missing[0]} .. {missing[-1]}) "
            f"although {BDL_PLAYER_BOXSCORES.fqn} has box scores for them; the rolling and season-to-date windows "
            f"and the prior-season features from {start} read those games. Transform them first: "
            f"nbafs transform --start {missing[0]} --end {start - dt.timedelta(days=1)} (or run without --start). "
            f"Nothing was written."
        )
