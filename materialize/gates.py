"""Quality gates: what every chunk must look like before the batch engine writes it online.

The gates are not declared here: each served feature's ``QualityGate`` lives next to
the feature in ``feature_repo/catalog.py`` (populated share over eligible rows, share
of zeros, value range, which rows are eligible). This module turns those declarations
into one DuckDB aggregate per chunk, grouped by game date, and into the error a person
can act on::

    quality gate failed on game date 2025-12-01; nothing of 2025-12-01..2025-12-01 was written online
      - usage_spike_score (view player_composite_factors): 100.0% of 291 non-NULL values are 0; at most 50% allowed (max_zero_share)
        computed from: nba_precompute.player_composite_factors.usage_spike_score, nba_analytics.upcoming_player_game_context.avg_usage_rate_last_7_games, ...

That is the message nobody got when ``usage_spike_score`` was 0 for months.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from feature_repo import catalog
from feature_repo.catalog import QualityGate
from nbafs.errors import UserError

DATE_COLUMN = "__gate_date"


@dataclasses.dataclass(frozen=True)
class Gate:
    feature: str
    view: str
    rule: QualityGate
    upstream: tuple[str, ...]

    @property
    def eligible_columns(self) -> tuple[str, ...]:
        return condition_columns(self.rule.eligible_when)


def condition_columns(condition: str | None) -> tuple[str, ...]:
    """Column names an ``eligible_when`` condition reads (``"minutes > 0"`` -> ``("minutes",)``)."""
    if not condition:
        return ()
    tree = sqlglot.parse_one(condition, read="duckdb")
    return tuple(dict.fromkeys(c.name for c in tree.find_all(exp.Column)))


def gates_for(view: str, feature_names: list[str]) -> list[Gate]:
    """The catalog gates of the features a feature view serves (features with no gate are skipped)."""
    out = []
    for name in feature_names:
        try:
            f = catalog.feature(name)
        except KeyError:
            continue
        if f.gate is not None:
            out.append(Gate(feature=name, view=view, rule=f.gate, upstream=f.upstream))
    return out


def extra_columns(gates: list[Gate]) -> list[str]:
    """Source columns the gates need beyond the served features (the eligible_when inputs)."""
    served = {g.feature for g in gates}
    return [c for c in dict.fromkeys(c for g in gates for c in g.eligible_columns) if c not in served]


# --- measuring ----------------------------------------------------------------------------


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def measure(con: duckdb.DuckDBPyConnection, chunk: pa.Table, gates: list[Gate]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per game date and feature, the figures the gates judge (one SQL over the chunk).

    ``chunk`` must carry a ``__gate_date`` DATE column. Returns
    ``{"2025-12-01": {"usage_spike_score": {"rows":..., "eligible":..., "populated":...,
    "nonnull":..., "zeros":..., "out_of_range":..., "min":..., "max":..., "mean":...,
    "p10":..., "p50":..., "p90":...}}}``. NaN counts as NULL (it is not a value).
    """
    if not gates or chunk.num_rows == 0:
        return {}
    schema = chunk.schema
    selects = [f"{_q(DATE_COLUMN)} AS d", "count(*) AS rows"]
    for i, g in enumerate(gates):
        typ = schema.field(g.feature).type
        col = _q(g.feature)
        is_bool = pa.types.is_boolean(typ)
        v = f"(CASE WHEN isnan({col}) THEN NULL ELSE {col} END)" if pa.types.is_floating(typ) else col
        elig = f"({g.rule.eligible_when})" if g.rule.eligible_when else "TRUE"
        selects += [
            f"count(*) FILTER (WHERE {elig}) AS e{i}",
            f"count({v}) FILTER (WHERE {elig}) AS p{i}",
            f"count({v}) AS n{i}",
            f"count(*) FILTER (WHERE {'NOT ' + v if is_bool else v + ' = 0'}) AS z{i}",
        ]
        if is_bool:
            selects += [f"avg({v}::DOUBLE) AS mean{i}"]
        else:
            selects += [
                f"min({v})::DOUBLE AS lo{i}", f"max({v})::DOUBLE AS hi{i}", f"avg({v})::DOUBLE AS mean{i}",
                f"quantile_cont({v}, [0.1, 0.5, 0.9]) AS q{i}",
            ]
            if g.rule.value_range:
                low, high = g.rule.value_range
                selects.append(f"count(*) FILTER (WHERE {v} < {float(low)!r} OR {v} > {float(high)!r}) AS o{i}")
    con.register("__gate_chunk", chunk)
    try:
        rows = con.execute(f"SELECT {', '.join(selects)} FROM __gate_chunk GROUP BY 1 ORDER BY 1").fetchall()
        names = [d[0] for d in con.description]
    finally:
        con.unregister("__gate_chunk")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        r = dict(zip(names, row))
        day = r["d"].isoformat() if isinstance(r["d"], dt.date) else str(r["d"])
        per: dict[str, dict[str, Any]] = {}
        for i, g in enumerate(gates):
            q = r.get(f"q{i}") or [None, None, None]
            per[g.feature] = {
                "rows": r["rows"], "eligible": r[f"e{i}"], "populated": r[f"p{i}"], "nonnull": r[f"n{i}"],
                "zeros": r[f"z{i}"], "out_of_range": r.get(f"o{i}", 0),
                "min": r.get(f"lo{i}"), "max": r.get(f"hi{i}"), "mean": r.get(f"mean{i}"),
                "p10": q[0], "p50": q[1], "p90": q[2],
            }
        out[day] = per
    return out


# --- judging ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GateFailure:
    feature: str
    view: str
    date: str
    rule: str  # min_populated | max_zero_share | value_range
    measured: float
    threshold: str
    detail: str
    upstream: tuple[str, ...]


def judge(gates: list[Gate], figures: dict[str, dict[str, dict[str, Any]]]) -> list[GateFailure]:
    """Every gate broken in ``figures`` (date order, then catalog order)."""
    failures = []
    for day in sorted(figures):
        for g in gates:
            f = figures[day].get(g.feature)
            if f is None:
                continue
            rule = g.rule
            where = f" where {rule.eligible_when}" if rule.eligible_when else ""

            def fail(kind: str, measured: float, threshold: str, detail: str) -> None:
                failures.append(GateFailure(g.feature, g.view, day, kind, measured, threshold, detail, g.upstream))

            if f["eligible"]:
                share = f["populated"] / f["eligible"]
                if share < rule.min_populated:
                    fail("min_populated", share, f"{rule.min_populated:.0%}",
                         f"{share:.1%} populated ({f['populated']} non-NULL of {f['eligible']} rows{where}); "
                         f"at least {rule.min_populated:.0%} required (min_populated)")
            if rule.max_zero_share is not None and f["nonnull"]:
                share = f["zeros"] / f["nonnull"]
                if share > rule.max_zero_share:
                    fail("max_zero_share", share, f"{rule.max_zero_share:.0%}",
                         f"{share:.1%} of {f['nonnull']} non-NULL values are 0 (or false); at most "
                         f"{rule.max_zero_share:.0%} allowed (max_zero_share)")
            if rule.value_range and f.get("out_of_range"):
                low, high = rule.value_range
                fail("value_range", float(f["out_of_range"]), f"[{low:g}, {high:g}]",
                     f"{f['out_of_range']} values outside [{low:g}, {high:g}] (measured min {f['min']:g}, "
                     f"max {f['max']:g}) (value_range)")
    return failures


class GateError(UserError):
    """A quality gate failed: nothing of the chunk was written online."""

    def __init__(self, failures: list[GateFailure], chunk_dates: tuple[str, str], written_through: str | None):
        self.failures = failures
        self.chunk_dates = chunk_dates
        self.written_through = written_through
        super().__init__(self._message())

    def _message(self) -> str:
        first, last = self.chunk_dates
        dates = sorted({f.date for f in self.failures})
        lines = [
            f"quality gate failed on game date {dates[0]}"
            + (f" (and {len(dates) - 1} later date(s) in the chunk)" if len(dates) > 1 else "")
            + f"; nothing of {first}..{last} was written online"
            + (f" (the online store holds the chunks before it, through {self.written_through})."
               if self.written_through else "."),
        ]
        seen = set()
        for f in self.failures:
            key = (f.feature, f.rule)
            if key in seen:
                continue
            seen.add(key)
            n_dates = len({x.date for x in self.failures if (x.feature, x.rule) == key})
            more = f" (and on {n_dates - 1} more date(s))" if n_dates > 1 else ""
            lines.append(f"  - {f.feature} (view {f.view}) on {f.date}: {f.detail}{more}")
            lines.append(f"    computed from: {', '.join(f.upstream)}")
        lines.append(
            "Gates are declared with the features in feature_repo/catalog.py. Find which upstream column "
            "lost its values (e.g. nbafs query \"SELECT count(usage_rate), count(*) FROM "
            "nba_analytics.player_game_summary\"), fix it, and run the same command again: it resumes "
            f"at {first}."
        )
        return "\n".join(lines)
