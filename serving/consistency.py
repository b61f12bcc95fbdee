"""Served vectors replayed: did serving return what training retrieval sees at the same time?

    nbafs consistency --start 2026-02-27 --end 2026-02-27 [--json]

Every online read of the feature service ``player_points_v1`` is logged
(``feast_plugins/feature_log.py``) into the warehouse table
``nba_feast_logs.player_points_v1``: keys, ``line_offered``, each feature's value, status
and event time, and the request time. This command reads the rows logged on the days
``--start``..``--end`` (UTC dates of their request times), asks
``get_historical_features`` for the same keys at each row's request time with the logged
``line_offered`` (``serving.training_set.retrieve``: results attached by row key), and
compares every feature, per feature and per day: rows compared, mismatches, their share
and the largest difference.

Two values match when both are NULL, or both are present and equal to 1e-9 relative
(``|a - b| <= 1e-9 * max(|a|, |b|)``: exact for integers, booleans and strings). A NULL
on one side and a value on the other is a mismatch. Zero is the expected result:
anything else means serving and training disagree. The table is printed (``--json``:
the report as JSON) and a chart of the mismatch share per feature and day is written
under the data dir's reports/ (its path is printed).

Exit status: 0 when no row differs, 1 when any does (and 2 on bad input, as every command).
Before running it in the process that served, call ``feature_log.flush()`` (the demo does).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nbafs import profile
from nbafs.errors import UserError
from nbafs.timeline import argparse_date

SERVICE = "player_points_v1"
RELATIVE_TOLERANCE = 1e-9
MAX_EXAMPLES = 5
LOG_TIMESTAMP, LOG_DATE, REQUEST_ID = "__log_timestamp", "__log_date", "__request_id"


@dataclass
class FeatureDay:
    """One feature on one day."""

    day: dt.date
    feature: str
    rows: int
    mismatches: int
    null_vs_value: int  # mismatches where one side is NULL
    largest_difference: float | None  # over rows where both sides hold a number
    examples: list[dict] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.mismatches / self.rows if self.rows else 0.0

    def to_json(self) -> dict:
        return {"day": self.day.isoformat(), "feature": self.feature, "rows": self.rows,
                "mismatches": self.mismatches, "share": self.share, "null_vs_value": self.null_vs_value,
                "largest_difference": self.largest_difference, "examples": self.examples}


@dataclass
class Report:
    start: dt.date
    end: dt.date
    table: str  # the log table read
    requests: int  # logged reads
    rows: int  # logged rows (one per entity row of a read)
    per: list[FeatureDay] = field(default_factory=list)
    chart: Path | None = None

    @property
    def mismatches(self) -> int:
        return sum(f.mismatches for f in self.per)

    @property
    def days(self) -> list[dt.date]:
        return sorted({f.day for f in self.per})

    @property
    def features(self) -> list[str]:
        return list(dict.fromkeys(f.feature for f in self.per))

    def to_json(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "table": self.table,
                "requests": self.requests, "rows": self.rows, "relative_tolerance": RELATIVE_TOLERANCE,
                "mismatches": self.mismatches, "chart": str(self.chart) if self.chart else None,
                "per_feature_and_day": [f.to_json() for f in self.per]}


def log_table(service: str = SERVICE) -> str:
    """The warehouse table of a service's served vectors (``feature_repo/feature_services.logging_config``)."""
    from warehouse.schema import FEATURE_LOG_DATASET

    return f"{FEATURE_LOG_DATASET}.{service}"


def logged_rows(start: dt.date, end: dt.date, service: str = SERVICE) -> pa.Table:
    """The rows logged with ``start <= __log_date <= end``, through the warehouse seam."""
    from warehouse import engine
    from warehouse.engine import QueryError

    table = log_table(service)
    try:
        return engine.current().query(
            f"SELECT * FROM {table} WHERE {LOG_DATE} BETWEEN @start AND @end ORDER BY {LOG_TIMESTAMP}, {REQUEST_ID}",
            {"start": start, "end": end},
        )
    except QueryError as exc:
        raise UserError(
            f"cannot read the served vectors from {table} ({exc.reason}): nothing was logged yet in this store. "
            f"Serve through the feature service {service!r} first (nbafs predict, nbafs online, feast serve); "
            f"logged rows are written every few seconds and when the serving process ends."
        ) from None


def _columns(service) -> list[tuple[str, str]]:
    """(log column, feature) per feature of the service, in its declared order (``catalog.PLAYER_POINTS_V1``)."""
    from feature_repo.catalog import PLAYER_POINTS_V1

    pairs = {f.name: f"{p.name_to_use()}__{f.name}" for p in service.feature_view_projections for f in p.features}
    order = list(dict.fromkeys([*(n for n in PLAYER_POINTS_V1 if n in pairs), *pairs]))
    return [(pairs[n], n) for n in order]


def consistency(start: dt.date, end: dt.date, store=None, chart: bool = True) -> Report:
    """Replay the served vectors of ``start``..``end`` through point-in-time retrieval (module docstring)."""
    from serving.training_set import retrieve

    if end < start:
        raise UserError(f"--end {end} is before --start {start}; give the first date first.")
    store = store or profile.feature_store()
    service = store.get_feature_service(SERVICE)
    features = _columns(service)
    logs = logged_rows(start, end)
    report = Report(start, end, log_table(), requests=len(set(logs.column(REQUEST_ID).to_pylist())) if logs.num_rows else 0,
                    rows=logs.num_rows)
    if logs.num_rows == 0:
        raise UserError(
            f"no served vectors logged in {report.table} for {start}..{end} (days are the UTC dates of the request "
            f"times): serve those days first, or pick days that were served."
        )
    logged = {f"{c}{suffix}" for c, _ in features for suffix in ("", "__timestamp", "__status")}
    inputs = [c for c in logs.column_names if c not in logged and c not in (LOG_TIMESTAMP, LOG_DATE, REQUEST_ID)]
    entity = logs.select(inputs).to_pandas()
    entity["event_timestamp"] = pd.to_datetime(logs.column(LOG_TIMESTAMP).to_pandas(), utc=True)
    replayed = retrieve(store, entity, service)
    days = logs.column(LOG_DATE).to_pylist()
    keys = {k: logs.column(k).to_pylist() for k in inputs}
    times = logs.column(LOG_TIMESTAMP).to_pylist()
    for column, feature in features:
        if feature not in replayed.column_names:
            raise UserError(f"get_historical_features returned no {feature!r}: the registry is older than the "
                            f"served vectors; run `feast apply`.")
        differ, null_vs_value, diff = compare(logs.column(column), replayed.column(feature))
        for day in sorted(set(days)):
            on_day = np.array([d == day for d in days])
            rows_of_day = np.flatnonzero(on_day)
            bad = np.flatnonzero(differ & on_day)
            numeric = diff[on_day & ~np.isnan(diff)]
            examples = [{**{k: keys[k][i] for k in inputs}, "request_time": times[i].isoformat(),
                         "served": _plain(logs.column(column)[i].as_py()),
                         "replayed": _plain(replayed.column(feature)[i].as_py())} for i in bad[:MAX_EXAMPLES]]
            report.per.append(FeatureDay(day, feature, len(rows_of_day), len(bad), int((null_vs_value & on_day).sum()),
                                         float(numeric.max()) if len(numeric) else None, examples))
    if chart:
        report.chart = write_chart(report)
    return report


def compare(served: pa.ChunkedArray, replayed: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: differs, differs as NULL vs value, and |a - b| where both hold numbers (NaN elsewhere)."""
    a_null = served.is_null(nan_is_null=True).to_numpy(zero_copy_only=False)
    b_null = replayed.is_null(nan_is_null=True).to_numpy(zero_copy_only=False)
    null_vs_value = a_null != b_null
    both = ~a_null & ~b_null
    numeric = (pa.types.is_integer(served.type) or pa.types.is_floating(served.type) or pa.types.is_boolean(served.type))
    if numeric:
        x = pc.cast(served, pa.float64()).to_numpy(zero_copy_only=False)
        y = pc.cast(replayed, pa.float64()).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            diff = np.where(both, np.abs(x - y), np.nan)
            value_differs = both & (diff > RELATIVE_TOLERANCE * np.maximum(np.abs(x), np.abs(y)))
    else:
        diff = np.full(len(served), np.nan)
        value_differs = both & np.array([p != q for p, q in zip(served.to_pylist(), replayed.to_pylist())], dtype=bool)
    return null_vs_value | value_differs, null_vs_value, diff


def _plain(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def write_chart(report: Report) -> Path:
    from model import charts
    from nbafs import paths

    shares = pd.DataFrame(0.0, index=report.features, columns=report.days)
    counts = pd.DataFrame(0, index=report.features, columns=report.days)
    for f in report.per:
        shares.loc[f.feature, f.day] = f.share
        counts.loc[f.feature, f.day] = f.mismatches
    title = (f"Served vs point-in-time replay, {report.start}..{report.end}\n"
             f"{report.mismatches} of {report.rows:,} rows x {len(report.features)} features differ")
    out = paths.reports_dir() / f"consistency_{report.start}_{report.end}.png"
    return charts.consistency(shares, counts, title, out)


# --- command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=argparse_date, required=True, help="first day (UTC date of the request times)")
    parser.add_argument("--end", type=argparse_date, required=True, help="last day, inclusive")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    report = consistency(args.start, args.end)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print_report(report)
    return 0 if report.mismatches == 0 else 1


def _short(v) -> str:
    return "NULL" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))


def print_report(report: Report, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Served vectors vs point-in-time replay, {report.start}..{report.end} "
                        f"({report.requests:,} reads, {report.rows:,} rows, {report.table})")
    table.add_column("day", no_wrap=True)
    table.add_column("feature", no_wrap=True)
    for col in ("rows", "mismatches", "share", "largest diff", "NULL vs value"):
        table.add_column(col, justify="right")
    for f in report.per:
        table.add_row(str(f.day), f.feature, f"{f.rows:,}", f"[red]{f.mismatches:,}[/red]" if f.mismatches else "0",
                      f"{f.share:.1%}", "—" if f.largest_difference is None else f"{f.largest_difference:.3g}",
                      str(f.null_vs_value))
    console.print(table)
    for f in report.per:
        for ex in f.examples:
            ids = ", ".join(f"{k}={v}" for k, v in ex.items() if k not in ("served", "replayed"))
            console.print(f"  {f.day} {f.feature}: {ids}: served {_short(ex['served'])}, replayed {_short(ex['replayed'])}")
    if report.mismatches:
        console.print(f"[red bold]{report.mismatches} mismatches[/red bold]: serving and training disagree.")
    else:
        console.print("[green]0 mismatches[/green]: every served value equals point-in-time retrieval at its request time.")
    if report.chart:
        console.print(f"Chart: {report.chart}")
