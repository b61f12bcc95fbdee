"""Run the phase transformations for a range of game dates.

    nbafs transform                                 the whole warehouse range
    nbafs transform --start 2025-11-13 --end 2026-01-30
    nbafs transform --profile bigquery --print-sql  the production script, not submitted

Four tables, in this order, each built by one BigQuery SQL file under
transformations/sql/ (the production truth):

    nba_analytics.player_game_summary           box score + team totals + usage_rate
    nba_analytics.player_points_line_consensus  median line across books per snapshot
    nba_analytics.upcoming_player_game_context  rolling form and schedule context
    nba_precompute.player_composite_factors     season usage rate, usage_spike_score, ...

Rows come out for the game dates --start .. --end (default: the first to the last date
of the raw tables, future scheduled games included); rolling and season-to-date
windows read the games before --start, so a later range needs the earlier summary rows
(the command tells you when they are missing).

Local profile (default): each SQL file is transpiled to DuckDB with sqlglot and run on
the embedded warehouse (NBAFS_DATA_DIR), the whole range in one pass per table. The
result is checked against the declared schema (warehouse/schema.py) and the game-date
partitions of the range are replaced, all four tables at once at the end: a failure
anywhere writes nothing, and reruns are idempotent.

Production profile (--profile bigquery): the same SQL, submitted to BigQuery as one
script with @start_date/@end_date query parameters: input checks first, then one
transaction deleting and re-inserting the range of each table. --print-sql prints the
script instead of submitting it.

Before anything runs, the inputs are checked (missing or renamed columns, duplicate
rows, negative counts, box scores without team totals or without a schedule row); the
first problem stops the run with a message naming the table, the row and the column.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Callable

import duckdb
import pyarrow as pa

from nbafs.errors import UserError
from nbafs.timeline import argparse_date, season_of
from transformations import checks
from transformations.steps import STEPS, Step, raw_inputs
from warehouse import storage
from warehouse.schema import BDL_PLAYER_BOXSCORES, PLAYER_GAME_SUMMARY, RAW_TABLES, Table
from warehouse.validate import conform

PROFILES = ("local", "bigquery")


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
        "--profile", choices=PROFILES, default="local",
        help="local: DuckDB on NBAFS_DATA_DIR (default); bigquery: submit the same SQL to BigQuery",
    )
    parser.add_argument(
        "--print-sql", action="store_true",
        help="print the statements instead of running them (the BigQuery script, or the DuckDB SQL locally)",
    )
    parser.add_argument("--project", help="BigQuery project (bigquery profile; default: the client's)")


def run(
    start: dt.date | argparse.Namespace | None = None,
    end: dt.date | None = None,
    profile: str = "local",
    *,
    progress: Callable[[str], None] | None = print,
    client=None,
) -> TransformReport | int:
    """Transform game dates ``start``..``end`` (default: the whole warehouse range).

    Returns a ``TransformReport`` (rows and seconds per table). Called with the parsed
    arguments of ``nbafs transform`` it is the command and returns an exit code.
    ``client`` (bigquery profile) is a ``google.cloud.bigquery.Client``; one is made
    when omitted.
    """
    if isinstance(start, argparse.Namespace):
        return _command(start)
    say = progress or (lambda _line: None)
    if profile == "local":
        return run_local(start, end, progress=say)
    if profile == "bigquery":
        from transformations import bigquery

        if start is None or end is None:
            raise UserError("the bigquery profile needs --start and --end (the local warehouse range says nothing about BigQuery's)")
        return bigquery.run(start, end, client=client, progress=say)
    raise UserError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")


def _command(args: argparse.Namespace) -> int:
    if args.print_sql:
        if args.profile == "bigquery":
            from transformations.bigquery import plan_bigquery

            if args.start is None or args.end is None:
                raise UserError("--print-sql with the bigquery profile needs --start and --end")
            plan = plan_bigquery(args.start, args.end)
            print(f"-- parameters: @start_date = DATE '{args.start}', @end_date = DATE '{args.end}'")
            print(plan.script)
        else:
            start, end = resolve_range(args.start, args.end)
            for step in STEPS:
                print(f"-- {step.table.fqn} ({step.display_path})\n{step.duckdb_sql(start, end)};\n")
        return 0
    client = None
    if args.profile == "bigquery" and args.project:
        from google.cloud import bigquery as gbq

        client = gbq.Client(project=args.project)
    report = run(args.start, args.end, args.profile, client=client)
    total = sum(t.rows for t in report.tables)
    print(f"transformed {report.start} .. {report.end}: {total:,} rows in {report.seconds:.2f} s")
    return 0


# --- local profile -----------------------------------------------------------------------


def warehouse_range() -> tuple[dt.date, dt.date]:
    """First and last game date with rows in any raw table."""
    days = [d for t in RAW_TABLES for d in storage.partitions(t)]
    if not days:
        raise UserError(
            f"the warehouse under {storage.paths.warehouse_dir()} has no raw rows: run `nbafs generate` "
            f"(sample season) or `nbafs import PATH` first, or check NBAFS_DATA_DIR"
        )
    return min(days), max(days)


def resolve_range(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    if start is None or end is None:
        first, last = warehouse_range()
        start = start or first
        end = end or last
    if start > end:
        raise UserError(f"--start {start} is after --end {end}: expected start <= end")
    return start, end


def run_local(
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    progress: Callable[[str], None] = print,
) -> TransformReport:
    """Run every step on DuckDB over the embedded warehouse; write all tables at the end."""
    t_start = time.perf_counter()
    start, end = resolve_range(start, end)
    report = TransformReport(start, end, "local")
    params = {"start_date": start, "end_date": end}

    checks.stored_column_problems(_readers())
    _check_history(start)
    con = storage.connect()
    try:
        checks.run_local(con, checks.input_checks(raw_inputs()), params)
        staged: list[tuple[Table, pa.Table]] = []
        for step in STEPS:
            t0 = time.perf_counter()
            data = _compute(con, step, start, end)
            _stage(con, step.table, data, start, end)
            staged.append((step.table, data))
            seconds = time.perf_counter() - t0
            report.tables.append(TableReport(step.table.fqn, data.num_rows, seconds))
            progress(f"{step.table.fqn:<44} {data.num_rows:>8,} rows  {seconds:6.2f} s")
    finally:
        con.close()

    t0 = time.perf_counter()
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    for table, data in staged:
        storage.write_partitions(table, data, replace_dates=days)
    progress(f"{'written: ' + str(len(staged)) + ' tables, ' + str(len(days)) + ' game dates':<44} {'':>8}       {time.perf_counter() - t0:6.2f} s")
    report.seconds = time.perf_counter() - t_start
    return report


def _readers() -> dict[str, dict[str, list[str]]]:
    """``{table: {sql file: columns}}`` over every step."""
    out: dict[str, dict[str, list[str]]] = {}
    for step in STEPS:
        for fqn, cols in step.inputs().items():
            out.setdefault(fqn, {})[step.display_path] = cols
    return out


def _compute(con: duckdb.DuckDBPyConnection, step: Step, start: dt.date, end: dt.date) -> pa.Table:
    try:
        result = con.sql(step.duckdb_sql(start, end)).to_arrow_table()
    except duckdb.Error as exc:
        raise UserError(f"{step.display_path} failed on DuckDB while building {step.table.fqn}: {exc}") from None
    return conform(step.table, result.to_pandas(), source=step.display_path)


def _stage(con: duckdb.DuckDBPyConnection, table: Table, data: pa.Table, start: dt.date, end: dt.date) -> None:
    """Make ``dataset.table`` read the new rows for the range and the stored ones outside it.

    The next layer reads this view, so a run sees its own results before anything is
    written, and nothing is written until every layer succeeded.
    """
    staged, stored = f"staged__{table.name}", f"{table.dataset}.stored__{table.name}"
    con.register(staged, data)
    # storage.connect() made a view over the partitions, or an empty table when there are none.
    kind = "VIEW" if storage.partitions(table) else "TABLE"
    con.execute(f"DROP VIEW IF EXISTS {stored}")
    con.execute(f"DROP TABLE IF EXISTS {stored}")
    con.execute(f"ALTER {kind} {table.fqn} RENAME TO stored__{table.name}")
    con.execute(
        f"CREATE VIEW {table.fqn} AS "
        f"SELECT * FROM {stored} WHERE game_date < DATE '{start}' OR game_date > DATE '{end}' "
        f"UNION ALL BY NAME SELECT * FROM {staged}"
    )


def _check_history(start: dt.date) -> None:
    """The windows of ``start`` read this season's earlier summary rows: they must exist."""
    season = season_of(start)
    have = set(storage.partitions(PLAYER_GAME_SUMMARY))
    missing = [
        d for d in storage.partitions(BDL_PLAYER_BOXSCORES)
        if d < start and season_of(d) == season and d not in have
    ]
    if missing:
        raise UserError(
            f"{PLAYER_GAME_SUMMARY.fqn} has no rows for {len(missing)} game date(s) of season {season} before "
            f"--start {start} ({missing[0]} .. {missing[-1]}) although {BDL_PLAYER_BOXSCORES.fqn} has box scores "
            f"for them; the rolling and season-to-date windows from {start} read those games. Transform them "
            f"first: nbafs transform --start {missing[0]} --end {start - dt.timedelta(days=1)} (or run without "
            f"--start). Nothing was written."
        )
