"""Predict a game-day slate from the online store.

    nbafs predict --date 2026-02-10 [--model player_points_v1] [--json] [--top N]

For every player of the day's games: his feature vector from the online store
(``serving.online.slate_features``, i.e. Feast ``get_online_features`` on the feature
service, values older than their view's ttl counted as stale and served as missing),
the model's predicted points, the consensus line where a book quoted one, and the
over/under call with its probability.

The online store must have been materialized up to the slate's time, noon US/Eastern
on the date (``nbafs backfill`` or ``feast materialize``); the staleness report says
when it was not.

- edge = predicted points - line; the table is sorted by |edge|, players without a line
  after, by predicted points.
- call: over when the prediction is above the line, under when below.
- P(over): from the model's out-of-sample residuals (model/residuals.py): the share of
  evaluation-set outcomes that would have cleared the line from this prediction,
  in the prediction's bin, add-one smoothed. P(call) is the probability of the call made.
- missing: how many of the vector's features are NULL for the player (a rookie before
  his first game has no rolling averages; that is honest, not an error).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model import artifacts
from model.dataset import as_date, feature_matrix
from nbafs.errors import UserError
from nbafs.timeline import argparse_date, noon_eastern

ID_COLUMNS = ("player_lookup", "player_name", "team_abbr", "opponent_team_abbr", "game_id", "is_home")


@dataclass
class SlatePrediction:
    day: dt.date
    at: dt.datetime
    model: str
    table: pd.DataFrame  # one row per slate player, sorted by edge
    staleness: object = None  # the staleness report from serving.online
    features: list[str] = field(default_factory=list)
    vectors: pd.DataFrame | None = None  # the online feature vectors the model was fed

    def to_json(self) -> dict:
        rows = json.loads(self.table.to_json(orient="records", date_format="iso"))
        return {
            "date": self.day.isoformat(),
            "asked_at": self.at.isoformat(),
            "model": self.model,
            "players": len(self.table),
            "with_line": int(self.table["points_line"].notna().sum()),
            "staleness": _jsonable(self.staleness),
            "predictions": rows,
        }


def predict(day, model_name: str = artifacts.DEFAULT_MODEL, at: dt.datetime | None = None) -> SlatePrediction:
    """Predicted points for every player of ``day``'s games, from the online store."""
    from serving.online import slate_features

    day = as_date(day)
    at = at or noon_eastern(day)
    saved = artifacts.load(model_name)
    vectors, staleness = slate_features(day, at=at)
    if len(vectors) == 0:
        raise UserError(
            f"no players on the slate of {day}: nba_analytics.upcoming_player_game_context has no rows for that "
            "date. Is it a game date of the imported or generated season, and has `nbafs backfill` covered it?"
        )
    return SlatePrediction(day, at, model_name, score(vectors, saved), staleness, saved.features, vectors)


def score(vectors: pd.DataFrame, saved: artifacts.SavedModel) -> pd.DataFrame:
    """The prediction table for a frame of feature vectors (any extra columns kept as ids)."""
    matrix = feature_matrix(vectors, tuple(saved.features))
    predicted = saved.pipeline.predict(vectors)
    line = vectors["points_line"].to_numpy(dtype=float) if "points_line" in vectors else np.full(len(vectors), np.nan)
    p_over = saved.residuals.p_over(predicted, line)
    edge = predicted - line
    call = np.where(np.isnan(line), None, np.where(edge > 0, "over", np.where(edge < 0, "under", "none")))
    p_call = np.where(call == "over", p_over, np.where(call == "under", 1 - p_over, np.nan))
    out = vectors[[c for c in ID_COLUMNS if c in vectors]].copy()
    out["predicted_points"] = np.round(predicted, 2)
    out["points_line"] = line
    out["edge"] = np.round(edge, 2)
    out["call"] = call
    out["p_over"] = np.round(p_over, 3)
    out["p_call"] = np.round(p_call, 3)
    out["missing_features"] = matrix.isna().sum(axis=1).to_numpy()
    order = np.lexsort((-predicted, -np.nan_to_num(np.abs(edge), nan=-1.0)))
    return out.iloc[order].reset_index(drop=True)


# --- command line --------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, type=argparse_date, help="the game date whose slate to predict (YYYY-MM-DD)")
    parser.add_argument("--model", default=artifacts.DEFAULT_MODEL, help="model name under data/models/ (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print every prediction as JSON")
    parser.add_argument("--top", type=int, default=25, help="rows to show in the table (default %(default)s; --json prints all)")


def run(args) -> int:
    result = predict(args.date, args.model)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    else:
        print_table(result, top=args.top)
    return 0


def print_table(result: SlatePrediction, top: int = 25, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = result.table
    title = (f"{result.day} slate: {len(t)} players, {int(t['points_line'].notna().sum())} with a line "
             f"(features as of {result.at:%Y-%m-%d %H:%M} UTC, model {result.model})")
    table = Table(title=title)
    table.add_column("player", no_wrap=True, min_width=16)
    for col, justify in (("team", "left"), ("opp", "left"), ("predicted", "right"),
                         ("line", "right"), ("edge", "right"), ("call", "left"), ("P(call)", "right"),
                         ("missing", "right")):
        table.add_column(col, justify=justify)
    for _, r in t.head(top).iterrows():
        has_line = not np.isnan(r["points_line"])
        table.add_row(
            str(r.get("player_name") or r.get("player_lookup")), str(r.get("team_abbr", "")),
            str(r.get("opponent_team_abbr", "")), f"{r['predicted_points']:.1f}",
            f"{r['points_line']:.1f}" if has_line else "—", f"{r['edge']:+.1f}" if has_line else "—",
            r["call"] or "—", f"{100 * r['p_call']:.0f}%" if has_line and not np.isnan(r["p_call"]) else "—",
            str(int(r["missing_features"])),
        )
    console.print(table)
    if len(t) > top:
        console.print(f"… {len(t) - top} more players (--top N, or --json for all)")
    missing_total = int((t["missing_features"] > 0).sum())
    console.print(f"Players with at least one missing feature: {missing_total} of {len(t)} "
                  "(no line quoted, or no value known at the slate's time; never filled in).")
    views = getattr(result.staleness, "views", None)
    if views:
        st = Table(title="Online values at the slate's time, per feature view (stale and future ones served as missing)")
        for col in ("view", "fresh", "stale", "future", "missing"):
            st.add_column(col, justify="left" if col == "view" else "right")
        for v in views:
            st.add_row(v.view + (" (on demand)" if v.on_demand else ""), str(v.fresh), str(v.stale),
                       str(v.future), str(v.missing))
        console.print(st)
    else:
        console.print(f"Staleness: {describe_staleness(result.staleness)}")


def describe_staleness(report) -> str:
    """One line from whatever the online layer reports (a dataclass, dict or frame)."""
    if report is None:
        return "no report"
    if hasattr(report, "summary") and callable(report.summary):
        return str(report.summary())
    data = _jsonable(report)
    if isinstance(data, dict):
        return ", ".join(f"{k}: {v}" for k, v in data.items() if not isinstance(v, (list, dict))) or json.dumps(data)[:200]
    return str(data)[:300]


def _jsonable(obj):
    import dataclasses

    if obj is None:
        return None
    if hasattr(obj, "to_json") and callable(obj.to_json) and not isinstance(obj, pd.DataFrame):
        out = obj.to_json()
        return json.loads(out) if isinstance(out, str) else out
    if hasattr(obj, "to_dict") and callable(obj.to_dict) and not isinstance(obj, pd.DataFrame):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj):
        return json.loads(json.dumps(dataclasses.asdict(obj), default=str))
    if isinstance(obj, pd.DataFrame):
        return json.loads(obj.to_json(orient="records", date_format="iso"))
    return json.loads(json.dumps(obj, default=str))
