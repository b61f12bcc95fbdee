"""RealGM player game logs -> ``nba_raw.bdl_player_boxscores`` (full box scores).

RealGM rows carry the full box score (FGA, FTA and TOV included, so usage rate can be
computed) but no game or player id, and the file mixes in summer-league, preseason,
playoff, college and international rows. The importer keeps a row when:

1. both ``Team`` and ``Opponent`` are NBA nicknames (``warehouse.teams``; "Sixers" is the
   76ers, city names such as "Houston" are colleges);
2. its ``Date`` (M/D/YYYY) lies within the season window of the schedule: derived from
   the games the NBA.com team logs define, not hard-coded;
3. the team has a regular-season game that day in the schedule: that game gives the
   row its ``game_id``, and its opponent must be the row's ``Opponent``. Rows of days
   without one (the NBA Cup final, which is not a regular-season game) are dropped and
   counted.

The schedule comes from team logs in the same run, else from the warehouse; with
neither the import stops ("import the NBA.com team game logs first").

Values: ``MIN`` "mm:ss" becomes decimal minutes; a player who did not play keeps
minutes 0. An empty ``PTS`` stays NULL, never 0. FGA, FTA and TOV must be present when
the player played (minutes > 0), because usage rate needs them for every such row.
``player_lookup`` maps name variants to one key (``warehouse.names``); RealGM lists a
few players twice under two names with identical stat lines: the repeats are dropped
and counted, while two different lines for one player and game stop the import.

``created_at`` is 06:00 UTC the day after the game (``box_score_known_at``), when the
box score is known: the files carry no write time, and retrieval hides rows written
after the time asked, so a wall-clock import time would hide the whole history.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from warehouse import schema
from warehouse.importers.common import (
    FileReport, Format, box_score_known_at, check, date_range, duplicates, fail,
    parse_counts, parse_dates, parse_minutes, require_values,
)
from warehouse.names import player_lookups
from warehouse.teams import team_abbrs

FORMAT = Format(
    key="realgm_player_logs",
    label="RealGM player game logs",
    required=("Player", "Date", "Team", "Opponent", "MIN", "PTS", "FGM", "FGA", "3PM", "3PA",
              "FTM", "FTA", "ORB", "DRB", "REB", "AST", "STL", "BLK", "TOV", "PF"),
    order=1,
)

COUNTS = {"PTS": "points", "FGM": "fgm", "FGA": "fga", "3PM": "fg3m", "3PA": "fg3a",
          "FTM": "ftm", "FTA": "fta", "ORB": "oreb", "DRB": "dreb", "REB": "rebounds",
          "AST": "assists", "STL": "steals", "BLK": "blocks", "TOV": "turnovers",
          "PF": "personal_fouls"}
USAGE_INPUTS = ("FGA", "FTA", "TOV")


def team_games(games: pd.DataFrame) -> pd.DataFrame:
    """The schedule as one row per team and game: game_date, team, opponent, game_id."""
    base = games[["game_id", "game_date", "home_team_abbr", "away_team_abbr"]]
    home = base.rename(columns={"home_team_abbr": "team_abbr", "away_team_abbr": "opponent_team_abbr"})
    away = base.rename(columns={"away_team_abbr": "team_abbr", "home_team_abbr": "opponent_team_abbr"})
    out = pd.concat([home, away], ignore_index=True)
    out["game_date"] = pd.to_datetime(out["game_date"])
    return out


def load(path: Path, rows: pd.DataFrame, run) -> FileReport:
    report = FileReport(path, FORMAT, rows_read=len(rows))
    require_values(path, rows, ["Team", "Opponent"])
    team, opponent = team_abbrs(rows["Team"]), team_abbrs(rows["Opponent"])
    nba = team.notna() & opponent.notna()
    report.drop("not NBA vs NBA (college, international)", (~nba).sum())
    rows, team, opponent = rows[nba], team[nba], opponent[nba]

    require_values(path, rows, ["Player", "Date", "MIN"])
    game_date = parse_dates(path, rows["Date"], "Date", "%m/%d/%Y", "M/D/YYYY (e.g. 10/21/2025)")
    games = team_games(run.schedule(path))
    start, end = games["game_date"].min(), games["game_date"].max()
    in_season = game_date.between(start, end)
    report.drop(f"outside the schedule's season {start:%Y-%m-%d}..{end:%Y-%m-%d} "
                f"(preseason, playoffs, summer league)", (~in_season).sum())
    rows, team, opponent, game_date = (x[in_season] for x in (rows, team, opponent, game_date))

    df = pd.DataFrame({"game_date": game_date, "team_abbr": team, "row_opponent": opponent},
                      index=rows.index)
    df = df.reset_index().merge(games, on=["game_date", "team_abbr"], how="left").set_index("line")
    no_game = df["game_id"].isna()
    report.drop("on a day the team has no regular-season game (e.g. the NBA Cup final)", no_game.sum())
    df, rows = df[~no_game], rows.loc[df.index[~no_game]]
    check(path, df["row_opponent"] != df["opponent_team_abbr"], rows["Opponent"], "Opponent",
          "the opponent of the team's game that day in the schedule (NBA.com team logs)",
          "Fix the row's Team, Opponent or Date and import again")

    df["minutes"] = parse_minutes(path, rows["MIN"], "MIN")
    df = df.join(parse_counts(path, rows, COUNTS))
    played = df["minutes"] > 0
    for col in USAGE_INPUTS:
        check(path, played & df[COUNTS[col]].isna(), rows[col], col,
              "a value whenever the player played (usage rate needs FGA, FTA and TOV)",
              "Fill the cell from the box score (or remove the row) and import again")
    df["player_name"] = rows["Player"].str.strip()
    df["player_lookup"] = player_lookups(df["player_name"])
    check(path, df["player_lookup"].isna(), rows["Player"], "Player",
          "a player name with letters", "Fix the name and import again")

    stats = ["team_abbr", "minutes", *COUNTS.values()]
    repeats = duplicates(path, df, ["game_id", "player_lookup"], ["game", "player"],
                         "player-game", same=stats)
    report.drop("repeated (one player under two names, identical stat lines)", repeats.sum())
    df = df[~repeats]
    if df.empty:
        raise fail(path, "no row is an NBA regular-season game of the schedule",
                   "Check that the file holds the season the team logs define")

    df["created_at"] = box_score_known_at(df["game_date"])
    df["source"] = "realgm"
    df["game_date"] = df["game_date"].dt.date
    report.rows_kept = len(df)
    report.notes.append(f"{df['game_id'].nunique():,} games, {df['player_lookup'].nunique():,} players, "
                        f"{int(df['points'].isna().sum()):,} rows without points (kept NULL)")
    run.stage(schema.BDL_PLAYER_BOXSCORES, df, date_range(pd.to_datetime(df["game_date"])), path)
    return report
