"""The Odds API player points props (.csv or .csv.gz) -> ``nba_raw.odds_api_player_points_props``.

One row per player, game, sportsbook and snapshot:

- ``snapshot_at``: parsed from ``snapshot_file`` ("raw_YYYYMMDD_HHMMSS.csv", UTC): the
  moment the line was seen, so the line is known from then. ``created_at`` is the same
  time: the files carry no write time, and retrieval hides rows written after the time
  asked, so a wall-clock import time would hide every historical line.
- the game: ``game`` is "Away Team @ Home Team" (full names, ``warehouse.teams``) and
  ``game_time`` the tip-off in UTC; ``game_date`` is the US/Eastern date of the tip-off.
  (date, home, away) must be a regular-season game of the schedule, which gives the
  ``game_id``; other lines are dropped and counted. The tip-off fills the schedule's
  ``tipoff_at`` for those games.
- markets other than ``player_points`` are dropped; lines seen at or after tip-off (live
  betting) are dropped, since the table holds pre-game lines.
- a book may list alternate lines for a player at one snapshot (Bovada and BetRivers
  list up to 11: 5.5, 6.5, ... with skewed prices). The table's grain is one line per
  book and snapshot, so the importer keeps the book's main line: the one whose over and
  under prices are the most balanced (implied probabilities closest); ties go to the
  lower line. The others are dropped and counted. A player with only one line keeps it,
  prices or not.
- ``player_lookup`` maps the book's spelling through the alias map (``warehouse.names``).

The file owns its snapshots: importing it replaces its own snapshots' rows on its game
dates and keeps the other snapshots' rows there, so daily snapshot files can be
imported one by one and importing a file twice changes nothing.
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
from warehouse.names import player_lookups
from warehouse.teams import team_abbrs

FORMAT = Format(
    key="odds_api_player_points",
    label="Odds API player points props",
    required=("snapshot_file", "player", "market", "line", "bookmaker", "game", "game_time",
              "over_odds", "under_odds"),
    optional=("event_id",),
    order=3,
)

MARKET = "player_points"
SNAPSHOT = r"raw_(\d{8}_\d{6})"


def load(path: Path, rows: pd.DataFrame, run) -> FileReport:
    report = FileReport(path, FORMAT, rows_read=len(rows))
    require_values(path, rows, ["market"])
    points = per_unique(rows["market"], lambda u: u.str.strip().eq(MARKET)).astype(bool)
    report.drop(f"other markets than {MARKET}", (~points).sum())
    rows = rows[points]
    require_values(path, rows, ["snapshot_file", "player", "line", "bookmaker", "game", "game_time"])

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
        "bookmaker": per_unique(rows["bookmaker"], lambda u: u.str.strip()),
        "points_line": parse_numbers(path, rows["line"], "line", minimum=0),
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
    snapshots = set(df["snapshot_at"])
    report.notes.append(
        f"{df['game_id'].nunique():,} games {min(df['game_date'])}..{max(df['game_date'])}, "
        f"{df[['game_id', 'player_lookup']].drop_duplicates().shape[0]:,} player-games, "
        f"{len(snapshots):,} snapshots, {df['bookmaker'].nunique()} books; tip-off filled for {filled:,} games"
    )
    unknown = _players_without_box_score(run, df)
    if unknown:
        report.notes.append(
            f"{len(unknown)} player(s) with lines have no box-score row yet, e.g. {', '.join(unknown[:5])}; "
            f"if one is a spelling variant, add it to warehouse/names.py ALIASES"
        )
    run.stage(
        schema.ODDS_API_PLAYER_POINTS_PROPS, df, set(df["game_date"]), path,
        keep_existing=lambda old: ~pd.to_datetime(old["snapshot_at"], utc=True).isin(list(snapshots)),
    )
    return report


def main_lines(df: pd.DataFrame) -> pd.Series:
    """Mask of each (game, player, book, snapshot)'s main line: the most balanced prices."""
    imbalance = (implied_probability(df["over_price"]) - implied_probability(df["under_price"])).abs()
    order = pd.DataFrame({
        "imbalance": imbalance.fillna(np.inf), "points_line": df["points_line"], "pos": np.arange(len(df)),
    }, index=df.index)
    keys = df[["game_id", "player_lookup", "bookmaker", "snapshot_at"]]
    ranked = order.join(keys).sort_values(["imbalance", "points_line", "pos"])
    first = ~ranked.duplicated(subset=list(keys.columns), keep="first")
    return first.reindex(df.index)


def _players_without_box_score(run, df: pd.DataFrame) -> list[str]:
    box = run.staged_frame(schema.BDL_PLAYER_BOXSCORES)
    if box is None:
        box = run.existing(schema.BDL_PLAYER_BOXSCORES)
    if box.empty:
        return []
    return sorted(set(df["player_lookup"]) - set(box["player_lookup"]))
