"""Predict a game-day slate from the online store, every market at once.

    nbafs predict --date 2026-02-10 [--market rebounds] [--json] [--top N]

For every player of the day's games and every market with a trained model (default all
five): his vector of the market's feature service from the online store
(``serving.online.slate_features_by_service``: Feast ``get_online_features``, values older
than their view's ttl counted as stale and served as missing), the model's prediction,
the market's consensus line and no-vig over probability where the books quoted one, and
the model's call.

The online store must have been materialized up to the slate's time, noon US/Eastern
on the date (``nbafs backfill`` or ``feast materialize``); the staleness report says
when it was not.

- P(over): from the model's out-of-sample residuals (model/residuals.py): the share of
  held-out outcomes that would have cleared the line from this prediction, in the
  prediction's bin, add-one smoothed. The market's is the books' no-vig probability.
- call: over when the model's P(over) is above 0.5, under when below (the rule the
  bettor's evaluation scores, model/betting.py).
- edge = the model's probability of its call minus the market's no-vig probability of
  that side: comparable across markets (a probability, not points or rebounds), positive
  when the model sees more in the side than the books do. One table for all markets,
  sorted by edge; rows with a line but no market probability after, players without a
  line last.
- missing: how many of the vector's features are NULL for the player (a rookie before
  his first game has no rolling averages; that is honest, not an error).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from model import artifacts
from model.dataset import as_date, feature_matrix
from nbafs import paths
from nbafs.errors import UserError
from nbafs.timeline import argparse_date, noon_eastern
from warehouse.markets import MARKETS, POINTS, Market
from warehouse.markets import market as market_named

ID_COLUMNS = ("player_lookup", "player_name", "team_abbr", "opponent_team_abbr", "game_id", "is_home")
EDGE_HELP = ("edge = the model's probability of its call minus the market's no-vig probability of that side "
             "(comparable across markets)")


@dataclass
class SlatePrediction:
    day: dt.date
    at: dt.datetime
    table: pd.DataFrame  # one row per (slate player, market), sorted by edge
    models: dict[str, str] = field(default_factory=dict)  # market -> model name
    staleness: object = None  # the staleness report from serving.online (every service's views)
    vectors: dict[str, pd.DataFrame] = field(default_factory=dict)  # market -> the online vectors fed
    untrained: list[str] = field(default_factory=list)  # markets left out: no trained model

    def market(self, name: str) -> pd.DataFrame:
        """One market's rows, in the table's order."""
        return self.table[self.table["market"] == name].reset_index(drop=True)

    def to_json(self) -> dict:
        rows = json.loads(self.table.to_json(orient="records", date_format="iso"))
        return {
            "date": self.day.isoformat(),
            "asked_at": self.at.isoformat(),
            "models": self.models,
            "untrained": self.untrained,
            "players": int(self.table["player_lookup"].nunique()) if len(self.table) else 0,
            "rows": len(self.table),
            "with_line": int(self.table["line"].notna().sum()),
            "edge": EDGE_HELP,
            "staleness": _jsonable(self.staleness),
            "predictions": rows,
        }


def predict(day, markets: Iterable[Market | str] | None = None, at: dt.datetime | None = None,
            store=None) -> SlatePrediction:
    """Every market's predictions for ``day``'s players, from the online store.

    ``markets``: names (default all; a market asked for by name must have a trained model,
    while by default the untrained ones are left out and listed in ``untrained``).
    """
    day = as_date(day)
    at = at or noon_eastern(day)
    asked = markets is not None
    chosen = [market_named(m) for m in (markets if asked else MARKETS)]
    saved, untrained = {}, []
    for m in chosen:
        if asked or artifacts.exists(m.service):
            saved[m.name] = artifacts.load(m.service)
        else:
            untrained.append(m.name)
    if not saved:
        raise UserError(f"no trained model for any market ({', '.join(m.service for m in chosen)} under "
                        f"{paths.models_dir()}); train them first: nbafs train --start YYYY-MM-DD --end YYYY-MM-DD")
    from serving.online import slate_features_by_service

    by_market = {m.name: m for m in chosen}
    vectors, staleness = slate_features_by_service(day, at=at, store=store,
                                                   services=[by_market[n].service for n in saved])
    if not any(len(v) for v in vectors.values()):
        raise UserError(
            f"no players on the slate of {day}: nba_analytics.upcoming_player_game_context has no rows for that "
            "date. Is it a game date of the imported or generated season, and has `nbafs backfill` covered it?"
        )
    frames = {n: vectors[by_market[n].service] for n in saved}
    table = sort_by_edge(pd.concat([score(frames[n], s, by_market[n]) for n, s in saved.items()], ignore_index=True))
    return SlatePrediction(day, at, table, {n: s.name for n, s in saved.items()}, staleness, frames, untrained)


def score(vectors: pd.DataFrame, saved: artifacts.SavedModel, market: Market = POINTS) -> pd.DataFrame:
    """One market's prediction rows for a frame of its feature vectors (id columns kept), unsorted."""
    matrix = feature_matrix(vectors, tuple(saved.features))
    predicted = saved.pipeline.predict(vectors)
    line = _floats(vectors, market.line_feature)
    market_p_over = _floats(vectors, market.over_prob_feature)
    p_over = saved.residuals.p_over(predicted, line)
    call = np.where(np.isnan(p_over), None, np.where(p_over > 0.5, "over", np.where(p_over < 0.5, "under", "none")))
    p_call = np.where(call == "over", p_over, np.where(call == "under", 1 - p_over, np.nan))
    market_p_call = np.where(call == "over", market_p_over, np.where(call == "under", 1 - market_p_over, np.nan))
    out = vectors[[c for c in ID_COLUMNS if c in vectors]].copy()
    out["market"] = market.name
    out["predicted"] = np.round(predicted, 2)
    out["line"] = line
    out["p_over"] = np.round(p_over, 3)
    out["market_p_over"] = np.round(market_p_over, 3)
    out["call"] = call
    out["p_call"] = np.round(p_call, 3)
    out["market_p_call"] = np.round(market_p_call, 3)
    out["edge"] = np.round(p_call - market_p_call, 3)
    out["missing_features"] = matrix.isna().sum(axis=1).to_numpy()
    return out.reset_index(drop=True)


def sort_by_edge(table: pd.DataFrame) -> pd.DataFrame:
    """Rows with an edge first, largest first; then rows with a line but no market probability
    (by P(call)); then rows without a line (by market, then predicted value)."""
    has_edge = table["edge"].notna().to_numpy()
    has_line = table["line"].notna().to_numpy()
    group = np.where(has_edge, 0, np.where(has_line, 1, 2))
    within = np.where(has_edge, -table["edge"].fillna(0).to_numpy(),
                      np.where(has_line, -table["p_call"].fillna(0).to_numpy(), 0.0))
    market_rank = table["market"].map({m.name: i for i, m in enumerate(MARKETS)}).fillna(len(MARKETS)).to_numpy()
    order = np.lexsort((-table["predicted"].to_numpy(dtype=float), np.where(group == 2, market_rank, 0), within, group))
    return table.iloc[order].reset_index(drop=True)


def _floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=float) if column in frame else np.full(len(frame), np.nan)


# --- command line --------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, type=argparse_date, help="the game date whose slate to predict (YYYY-MM-DD)")
    parser.add_argument("--market", action="append", default=None, choices=[m.name for m in MARKETS],
                        help="predict this market only (repeatable; default: every market with a trained model). "
                             + EDGE_HELP + "; the table is sorted by edge, players without a line after")
    parser.add_argument("--json", action="store_true", help="print every prediction row as JSON")
    parser.add_argument("--top", type=int, default=25, help="rows to show in the table (default %(default)s; --json prints all)")


def run(args) -> int:
    result = predict(args.date, args.market)
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
    players = t["player_lookup"].nunique()
    title = (f"{result.day} slate: {players} players x {len(result.models)} markets, "
             f"{int(t['line'].notna().sum())} rows with a line (features as of {result.at:%Y-%m-%d %H:%M} UTC)")
    table = Table(title=title)
    table.add_column("player", no_wrap=True, min_width=16)
    for col, justify in (("team", "left"), ("market", "left"), ("predicted", "right"), ("line", "right"),
                         ("P(over) model", "right"), ("P(over) market", "right"), ("call", "left"),
                         ("edge (pp)", "right"), ("missing", "right")):
        table.add_column(col, justify=justify)
    for _, r in t.head(top).iterrows():
        has_line = not np.isnan(r["line"])
        table.add_row(
            str(r.get("player_name") or r.get("player_lookup")), str(r.get("team_abbr", "")), r["market"],
            f"{r['predicted']:.1f}", f"{r['line']:.1f}" if has_line else "—", _pct(r["p_over"]),
            _pct(r["market_p_over"]), r["call"] or "—",
            "—" if np.isnan(r["edge"]) else f"{100 * r['edge']:+.1f}", str(int(r["missing_features"])),
        )
    console.print(table)
    if len(t) > top:
        console.print(f"… {len(t) - top} more rows (--top N, or --json for all)")
    console.print(f"{EDGE_HELP[0].upper()}{EDGE_HELP[1:]}, in percentage points; call = over when the model's "
                  "P(over) > 50%.")
    if result.untrained:
        console.print(f"No trained model for {', '.join(result.untrained)}: nbafs train --start ... --end ... "
                      f"--market {result.untrained[0]}")
    missing_total = int((t["missing_features"] > 0).sum())
    console.print(f"Rows with at least one missing feature: {missing_total} of {len(t)} "
                  "(no value known at the slate's time; never filled in).")
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


def _pct(x) -> str:
    return "—" if x is None or np.isnan(x) else f"{100 * x:.0f}%"


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
