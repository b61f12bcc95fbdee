"""Training/serving skew check: the online vector against historical retrieval.

    nbafs skew [--date D] [--at TIMESTAMP] [--json] [--tolerance 1e-9]

For the players of D's games, fetch the feature vector the online store serves
(``serving.online.slate_features``, what ``nbafs predict`` feeds the model) and the
vector Feast's ``get_historical_features`` returns for the same players at the same
time (``serving.training_set.build_training_set``, the path training sets are built
on), and compare them feature by feature, plus the request field ``line_offered``
each path derives from the line known at that time.

The time compared is the time the online store was last materialized to: Feast
records each feature view's materialization intervals in the registry, and the online
store then holds, per player, the latest value known at the end of the latest
interval. D defaults to the US/Eastern date of that time. ``--at`` overrides it.

Two values match when both are NULL, or both are present and equal within the
tolerance (absolute or relative, for float noise between the SQLite and DuckDB
paths). A NULL on one side and a value on the other is a mismatch. Zero mismatches is
the expected result: anything else means training and serving disagree, a bug.
Exit status 1 when there is any mismatch.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from feature_repo.catalog import PLAYER_POINTS_V1
from model.dataset import as_date, feature_matrix
from nbafs.errors import UserError
from nbafs.timeline import EASTERN, UTC, argparse_date, argparse_time

SERVICE = "player_points_v1"
LINE_OFFERED = "line_offered"  # the request field both paths derive from the line known at the time
DEFAULT_TOLERANCE = 1e-9
MAX_EXAMPLES = 5


@dataclass
class SkewReport:
    day: dt.date
    at: dt.datetime
    players: int
    tolerance: float
    per_feature: dict[str, dict] = field(default_factory=dict)  # feature -> {mismatches, both_null, compared, examples}
    materialized: dict[str, str | None] = field(default_factory=dict)  # view -> last materialized end

    @property
    def mismatches(self) -> int:
        return sum(v["mismatches"] for v in self.per_feature.values())

    def to_json(self) -> dict:
        return {
            "date": self.day.isoformat(), "at": self.at.isoformat(), "players": self.players,
            "tolerance": self.tolerance, "mismatches": self.mismatches,
            "materialized_to": self.materialized, "features": self.per_feature,
        }


def last_materialized(store=None) -> tuple[dt.datetime | None, dict[str, str | None]]:
    """The latest materialization end over the service's feature views, and each view's."""
    from nbafs.profile import feature_store

    store = store or feature_store()
    service = store.get_feature_service(SERVICE)
    ends: dict[str, dt.datetime | None] = {}
    for projection in service.feature_view_projections:
        try:
            view = store.get_feature_view(projection.name)
        except Exception:  # on-demand views are computed at request time: nothing materialized
            continue
        intervals = view.materialization_intervals
        ends[projection.name] = max((e for _, e in intervals), default=None)
    known = [e for e in ends.values() if e is not None]
    latest = max(known) if known else None
    return (_utc(latest) if latest else None), {k: (_utc(v).isoformat() if v else None) for k, v in ends.items()}


def compare(online: pd.DataFrame, historical: pd.DataFrame, features=PLAYER_POINTS_V1,
            key: str = "player_lookup", tolerance: float = DEFAULT_TOLERANCE) -> dict[str, dict]:
    """Per-feature mismatch counts between two frames of vectors keyed by ``key``."""
    if online[key].duplicated().any() or historical[key].duplicated().any():
        raise ValueError(f"skew compare: duplicate {key} in a vector frame")
    missing = set(online[key]) ^ set(historical[key])
    if missing:
        raise UserError(f"skew check: online and historical retrieval returned different players: {sorted(missing)[:10]}")
    a = online.set_index(key).sort_index()
    b = historical.set_index(key).loc[a.index]
    ma, mb = feature_matrix(a, tuple(features)), feature_matrix(b, tuple(features))
    out: dict[str, dict] = {}
    for f in features:
        x, y = ma[f].to_numpy(), mb[f].to_numpy()
        both_null = np.isnan(x) & np.isnan(y)
        both = ~np.isnan(x) & ~np.isnan(y)
        close = np.zeros(len(x), dtype=bool)
        close[both] = np.isclose(x[both], y[both], rtol=tolerance, atol=tolerance)
        bad = ~(both_null | close)
        examples = [
            {key: k, "online": _num(x[i]), "historical": _num(y[i])}
            for i, k in enumerate(a.index) if bad[i]
        ][:MAX_EXAMPLES]
        out[f] = {"mismatches": int(bad.sum()), "both_null": int(both_null.sum()),
                  "compared": int(len(x)), "examples": examples}
    return out


def skew(day=None, at: dt.datetime | None = None, tolerance: float = DEFAULT_TOLERANCE) -> SkewReport:
    """Compare online and historical vectors for D's players at the materialized time."""
    from nbafs.profile import feature_store
    from serving.online import slate_features

    store = feature_store()
    latest, per_view = last_materialized(store)
    if at is None:
        if latest is None:
            raise UserError(
                "the online store has never been materialized (no materialization interval in the registry for "
                f"the views of {SERVICE}); run `nbafs backfill --start ... --end ...` or `feast materialize` first"
            )
        at = latest
    at = _utc(at)
    day = as_date(day) if day is not None else at.astimezone(EASTERN).date()
    online, _staleness = slate_features(day, at=at)
    if len(online) == 0:
        raise UserError(f"no players on the slate of {day} (nba_analytics.upcoming_player_game_context); "
                        "pick a game date with --date")
    historical = historical_vectors(online, at, store)
    report = SkewReport(day=day, at=at, players=len(online), tolerance=tolerance, materialized=per_view)
    compared = [LINE_OFFERED, *PLAYER_POINTS_V1] if LINE_OFFERED in online and LINE_OFFERED in historical else PLAYER_POINTS_V1
    report.per_feature = compare(online, historical, features=compared, tolerance=tolerance)
    return report


def historical_vectors(online: pd.DataFrame, at: dt.datetime, store) -> pd.DataFrame:
    """The training path for the slate's entity rows at ``at``: ``build_training_set``
    (``get_historical_features`` on the feature service, ``line_offered`` = the consensus
    line known at ``at``), without the label."""
    from serving.training_set import build_training_set

    entity_rows = online[["player_lookup", "game_id"]].copy()
    entity_rows["event_timestamp"] = pd.Timestamp(at)
    return build_training_set(entity_rows, store=store, with_label=False)


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _num(v: float):
    return None if np.isnan(v) else float(v)


# --- command line --------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=argparse_date, default=None,
                        help="the game date whose players to check (default: the date the online store was materialized to)")
    parser.add_argument("--at", type=argparse_time, default=None,
                        help="the time to compare at, ISO 8601 (default: the last materialization end in the registry)")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help="absolute/relative tolerance for float values (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args) -> int:
    report = skew(args.date, args.at, args.tolerance)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print_report(report)
    return 0 if report.mismatches == 0 else 1


def _short(v) -> str:
    return "NULL" if v is None else f"{v:.6g}"


def print_report(report: SkewReport, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Online vs historical, {report.players} players of {report.day}, at {report.at:%Y-%m-%d %H:%M} UTC")
    table.add_column("#", justify="right")
    table.add_column("feature", no_wrap=True)
    for col in ("rows", "both NULL", "differ"):
        table.add_column(col, justify="right")
    table.add_column("first difference")
    for f, r in report.per_feature.items():
        ex = r["examples"][0] if r["examples"] else None
        table.add_row(str(PLAYER_POINTS_V1.index(f)) if f in PLAYER_POINTS_V1 else "req", f, str(r["compared"]), str(r["both_null"]),
                      f"[red]{r['mismatches']}[/red]" if r["mismatches"] else "0",
                      f"{ex['player_lookup']}: online {_short(ex['online'])}, historical {_short(ex['historical'])}" if ex else "")
    console.print(table)
    if report.mismatches:
        console.print(f"[red bold]{report.mismatches} mismatches[/red bold]: training and serving disagree; this is a bug.")
    else:
        console.print("[green]0 mismatches[/green]: the online vectors equal historical retrieval at the same time.")
