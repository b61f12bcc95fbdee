"""Odds API player props (.csv or .csv.gz), every market -> two raw tables.

- ``player_points`` rows -> ``nba_raw.odds_api_player_points_props`` (the upstream contract);
- the other markets of ``warehouse.markets.ODDS_API_KEYS`` -> ``nba_raw.odds_api_player_props``
  (``market`` = the Odds API key). Rows of an unknown market key are dropped and counted by key.

One row per player, game, market, sportsbook and snapshot:

- ``snapshot_at``: parsed from ``snapshot_file`` ("raw_YYYYMMDD_HHMMSS.csv", UTC), the moment
  the line was seen; ``created_at`` is the same (the files carry no write time, and a
  wall-clock import time would hide every historical line from retrieval).
- the game: ``game`` "Away Team @ Home Team" (full names) and the ``game_time`` tip-off (UTC) on
  its US/Eastern date must be a regular-season game of the schedule (else dropped, counted);
  the tip-off fills the schedule's ``tipoff_at``. Lines seen at or after tip-off are dropped.
- alternate lines: a book's main line per player, market and snapshot is kept, the one with the
  most balanced over/under prices (ties: the lower line); the others are dropped, counted.
- yes/no markets (``markets.YES_NO``) have no line and no prices: stored with NULLs, one row per
  book (who was offered). Every other market needs a line.

A file owns the (snapshot, market) pairs it holds: importing it replaces their rows and keeps the
rest, so snapshots can be imported one by one, a points-only file leaves the other markets alone,
and importing a file twice changes nothing. The points file and the all-markets file hold the same
points rows: one run importing both is refused (``ImportRun`` finds the same rows twice).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nbafs import timeline
from warehouse import schema
from warehouse.importers.common import (
    FIX_THE_FILE, FileReport, Format, check, fail, implied_probability, parse_numbers, per_unique,
    parse_timestamps_utc, require_values,
)
from warehouse.markets import ODDS_API_KEYS, YES_NO
from warehouse.names import player_lookups
from warehouse.teams import team_abbrs

FORMAT = Format(
    key="odds_api_player_points",
    label="Odds API player props",
    required=("snapshot_file", "player", "market", "line", "bookmaker", "game", "game_time",
              "over_odds", "under_odds"),
    optional=("event_id",),
    order=3,
)

POINTS = "player_points"
SNAPSHOT = r"raw_(\d{8}_\d{6})"


def load(path: Path, rows: pd.DataFrame, run) -> FileReport:
    report = FileReport(path, FORMAT, rows_read=len(rows))
    require_values(path, rows, ["market"])
    market = per_unique(rows["market"], lambda u: u.str.strip())
    known = market.isin(ODDS_API_KEYS)
    for key, n in market[~known].value_counts().sort_index().items():
        report.drop(f"rows of market {key!r} (not in warehouse/markets.py ODDS_API_KEYS)", n)
    rows, market = rows[known], market[known]
    require_values(path, rows, ["snapshot_file", "player", "bookmaker", "game", "game_time"])
    yes_no = market.isin(YES_NO)
    check(path, ~yes_no & rows["line"].isna(), rows["line"], "line",
          f"a line (only the yes/no markets {', '.join(YES_NO)} have none)", FIX_THE_FILE)

    snapshot_at = per_unique(rows["snapshot_file"], lambda u: pd.to_datetime(
        u.str.extract(SNAPSHOT)[0], format="%Y%m%d_%H%M%S", errors="coerce").dt.tz_localize("UTC"))
    check(path, snapshot_at.isna(), rows["snapshot_file"], "snapshot_file",
          'a snapshot file name "raw_YYYYMMDD_HHMMSS.csv" (the UTC time the lines were seen)', FIX_THE_FILE)
    tipoff = parse_timestamps_utc(path, rows["game_time"], "game_time")
    teams = per_unique(rows["game"], lambda u: u.str.split(" @ ", n=1, expand=True, regex=False)
                       .reindex(columns=[0, 1]))
    check(path, teams[1].isna(), rows["game"], "game", '"Away Team @ Home Team"', FIX_THE_FILE)
    away, home = team_abbrs(teams[0]), team_abbrs(teams[1])
    check(path, away.isna(), rows["game"], "game",
          "an NBA team before ' @ ' (full names as in warehouse/teams.py)", FIX_THE_FILE)
    check(path, home.isna(), rows["game"], "game",
          "an NBA team after ' @ ' (full names as in warehouse/teams.py)", FIX_THE_FILE)

    df = pd.DataFrame({
        "snapshot_at": snapshot_at, "tipoff_at": tipoff,
        "game_date": tipoff.dt.tz_convert(timeline.EASTERN).dt.tz_localize(None).dt.normalize(),
        "home_team_abbr": home, "away_team_abbr": away,
        "player_name": per_unique(rows["player"], lambda u: u.str.strip()),
        "market": market,
        "bookmaker": per_unique(rows["bookmaker"], lambda u: u.str.strip()),
        "prop_line": parse_numbers(path, rows["line"], "line", minimum=0),
        "over_price": parse_numbers(path, rows["over_odds"], "over_odds"),
        "under_price": parse_numbers(path, rows["under_odds"], "under_odds"),
    }, index=rows.index)
    df["player_lookup"] = player_lookups(df["player_name"])
    check(path, df["player_lookup"].isna(), rows["player"], "player", "a player name with letters", FIX_THE_FILE)

    games = run.schedule(path)[["game_id", "game_date", "home_team_abbr", "away_team_abbr"]].copy()
    games["game_date"] = pd.to_datetime(games["game_date"])
    df = df.reset_index().merge(games, on=["game_date", "home_team_abbr", "away_team_abbr"], how="left").set_index("line")
    no_game = df["game_id"].isna()
    report.drop("lines for no regular-season game of the schedule (date and teams)", no_game.sum())
    df = df[~no_game]
    live = df["snapshot_at"] >= df["tipoff_at"]
    report.drop("seen at or after tip-off (live lines)", live.sum())
    df = df[~live]

    main = main_lines(df)
    report.drop("alternate lines (kept each book's main line)", (~main).sum())
    df = df[main]
    if df.empty:
        raise fail(path, "no line belongs to a regular-season game of the schedule",
                   "Import the NBA.com team logs of the season these lines are for, then this file")

    # The latest snapshot's tip-off time is the schedule's tipoff_at.
    tipoffs = df.sort_values("snapshot_at").groupby("game_id")["tipoff_at"].last()
    filled = run.fill_tipoffs(tipoffs, path)

    df["created_at"] = df["snapshot_at"]
    df["game_date"] = df["game_date"].dt.date
    report.rows_kept = len(df)
    report.notes.append(
        f"{df['game_id'].nunique():,} games {min(df['game_date'])}..{max(df['game_date'])}, "
        f"{df[['game_id', 'player_lookup']].drop_duplicates().shape[0]:,} player-games, "
        f"{df['snapshot_at'].nunique():,} snapshots, {df['bookmaker'].nunique()} books; tip-off filled for {filled:,} games"
    )
    kept = df["market"].value_counts()
    kept = kept.reindex([k for k in ODDS_API_KEYS if k in kept.index])
    report.notes.append("rows kept per market: " + ", ".join(f"{k} {n:,}" for k, n in kept.items()))
    report.figures.update({f"rows_{k}": int(n) for k, n in kept.items()})
    unknown = _players_without_box_score(run, df)
    if unknown:
        report.notes.append(
            f"{len(unknown)} player(s) with lines have no box-score row yet, e.g. {', '.join(unknown[:5])}; "
            f"if one is a spelling variant, add it to warehouse/names.py ALIASES"
        )
    points = df["market"].eq(POINTS)
    _stage(run, schema.ODDS_API_PLAYER_POINTS_PROPS, df[points].rename(columns={"prop_line": "points_line"}), path)
    _stage(run, schema.ODDS_API_PLAYER_PROPS, df[~points].rename(columns={"prop_line": "line"}), path)
    return report


def _stage(run, table: schema.Table, df: pd.DataFrame, path: Path) -> None:
    """Stage ``df`` for ``table``, replacing the rows of its (snapshot, market) pairs only."""
    if df.empty:
        return
    owned = pd.MultiIndex.from_frame(df[["snapshot_at", "market"]].drop_duplicates())

    def keep_existing(old: pd.DataFrame) -> pd.Series:
        market = old["market"] if "market" in old.columns else pd.Series(POINTS, index=old.index)
        pairs = pd.MultiIndex.from_arrays([pd.to_datetime(old["snapshot_at"], utc=True), market])
        return pd.Series(~pairs.isin(owned), index=old.index)

    run.stage(table, df, set(df["game_date"]), path, keep_existing=keep_existing)


def main_lines(df: pd.DataFrame) -> pd.Series:
    """Mask of each (game, player, market, book, snapshot)'s main line: the most balanced prices."""
    imbalance = (implied_probability(df["over_price"]) - implied_probability(df["under_price"])).abs()
    order = pd.DataFrame({
        "imbalance": imbalance.fillna(np.inf), "prop_line": df["prop_line"], "pos": np.arange(len(df)),
    }, index=df.index)
    keys = df[["game_id", "player_lookup", "market", "bookmaker", "snapshot_at"]]
    ranked = order.join(keys).sort_values(["imbalance", "prop_line", "pos"])
    first = ~ranked.duplicated(subset=list(keys.columns), keep="first")
    return first.reindex(df.index)


def _players_without_box_score(run, df: pd.DataFrame) -> list[str]:
    box = run.staged_frame(schema.BDL_PLAYER_BOXSCORES)
    if box is None:
        box = run.existing(schema.BDL_PLAYER_BOXSCORES)
    if box.empty:
        return []
    return sorted(set(df["player_lookup"]) - set(box["player_lookup"]))
