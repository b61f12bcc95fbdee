"""NBA.com team game logs -> ``nba_raw.team_boxscores`` and ``nba_raw.schedule``.

The team logs define the games: every other importer finds its game ids here (or in the
schedule these logs wrote earlier), so a run imports them first.

- Regular season only: ``GAME_ID`` 00225xxxxx (leading zeros restored when a tool
  dropped them). Preseason (001), All-Star (003), playoffs (004), play-in (005) and the
  NBA Cup final (006) rows are dropped and counted.
- Each game needs exactly two rows, one per team: ``is_home`` comes from ``MATCHUP``
  ("OKC vs. HOU" is OKC at home, "HOU @ OKC" is HOU away; a few rows write the game
  from the opponent's side, "ORL @ MEM" on MEM's row, and are read as the game's
  matchup), the opponent from the other row of the same game (and must agree with
  ``MATCHUP``). A game with one row, two home
  teams or teams that disagree stops the import.
- ``MIN`` is kept as the source gives it (the sum of rounded player minutes: 238-242 in
  regulation): these totals are authoritative for usage rate.

``created_at`` (the real files carry no write time; retrieval hides rows written after
the time asked, so a wall-clock import time would hide the whole history):
- team box scores: 06:00 UTC the day after the game (``box_score_known_at``), when the
  box score is known;
- schedule: 1 August of the season's first year, 00:00 UTC. The league publishes the
  regular-season schedule in August, so every retrieval during the season sees every
  game, past and upcoming.

``tipoff_at`` is not in these logs: it stays NULL unless the schedule already had one
for the same game (filled from the betting lines' ``game_time``), which is kept.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from nbafs import timeline
from warehouse import schema
from warehouse.importers.common import (
    FIX_THE_FILE, FileReport, Format, box_score_known_at, check, date_range,
    duplicates, fail, nbacom_regular_season, parse_counts, parse_numbers, require_values,
)
from warehouse.teams import team_abbrs

FORMAT = Format(
    key="nbacom_team_logs",
    label="NBA.com team game logs",
    required=("TEAM_ABBREVIATION", "GAME_ID", "GAME_DATE", "MATCHUP", "MIN", "PTS",
              "FGM", "FGA", "FTM", "FTA", "OREB", "DREB", "TOV"),
    excludes=("PLAYER_ID", "PLAYER_NAME"),
    order=0,
)

COUNTS = {"PTS": "points", "FGM": "fgm", "FGA": "fga", "FTM": "ftm", "FTA": "fta",
          "OREB": "oreb", "DREB": "dreb", "TOV": "turnovers"}
MATCHUP = r"^\s*([A-Z]{2,4})\s+(vs\.|@)\s+([A-Z]{2,4})\s*$"


def schedule_known_at(game_dates: pd.Series) -> pd.Series:
    """1 August 00:00 UTC of each game's season: when the schedule is published."""
    first_year = game_dates.map(lambda d: int(timeline.season_of(d)[:4]))
    return pd.to_datetime(first_year.astype(str) + "-08-01").dt.tz_localize("UTC")


def load(path: Path, rows: pd.DataFrame, run) -> FileReport:
    report = FileReport(path, FORMAT, rows_read=len(rows))
    nba = nbacom_regular_season(path, rows, report, ["MATCHUP", "MIN"])
    rows, ids, team, game_date = nba.rows, nba.game_id, nba.team_abbr, nba.game_date
    matchup = rows["MATCHUP"].str.extract(MATCHUP)
    check(path, matchup[0].isna(), rows["MATCHUP"], "MATCHUP",
          '"TEAM vs. OPP" (home) or "TEAM @ OPP" (away)', FIX_THE_FILE)
    # "A @ B": A away at B; "A vs. B": A at home to B. Most rows name their own team
    # first; a few write the game from the opponent's side ("ORL @ MEM" on MEM's row).
    at = matchup[1].eq("@")
    home = team_abbrs(matchup[2].where(at, matchup[0]))
    away = team_abbrs(matchup[0].where(at, matchup[2]))
    check(path, home.isna() | away.isna() | ((team != home) & (team != away)).fillna(True),
          rows["MATCHUP"], "MATCHUP", "a matchup of two NBA team codes, one of them the row's "
          "TEAM_ABBREVIATION", FIX_THE_FILE)
    flipped = int((matchup[0] != rows["TEAM_ABBREVIATION"].str.strip()).sum())
    if flipped:
        report.notes.append(f"{flipped} row(s) write MATCHUP from the opponent's side; read as the game's matchup")

    df = pd.DataFrame({
        "game_id": ids, "game_date": game_date, "team_abbr": team,
        "is_home": (team == home).astype(bool), "matchup_opponent": home.where(team != home, away),
        "minutes": parse_numbers(path, rows["MIN"], "MIN", minimum=0),
    }, index=rows.index).join(parse_counts(path, rows, COUNTS))
    require_values(path, df.rename(columns={v: k for k, v in COUNTS.items()}),
                   ["PTS", "FGA", "FTA", "TOV", "OREB"],
                   "Team totals are needed for usage rate: fill the cell from the box score and import again")

    duplicates(path, df, ["game_id", "team_abbr"], ["GAME_ID", "TEAM_ABBREVIATION"], "team-game")
    _check_pairs(path, df)
    # The opponent is the other row of the same game.
    other = df[["game_id", "team_abbr"]].rename(columns={"team_abbr": "opponent_team_abbr"})
    pairs = df.reset_index().merge(other, on="game_id")
    pairs = pairs[pairs["team_abbr"] != pairs["opponent_team_abbr"]].set_index("line").sort_index()
    bad = pairs["matchup_opponent"] != pairs["opponent_team_abbr"]
    check(path, bad, rows.loc[pairs.index, "MATCHUP"], "MATCHUP",
          "the opponent to be the team of the game's other row", FIX_THE_FILE)

    pairs["created_at"] = box_score_known_at(pairs["game_date"])
    pairs["source"] = "nbacom"
    report.rows_kept = len(pairs)
    if len(pairs):
        report.notes.append(f"{pairs['game_id'].nunique():,} games, "
                            f"{pairs['game_date'].min():%Y-%m-%d}..{pairs['game_date'].max():%Y-%m-%d}")

    home = pairs[pairs["is_home"]]
    schedule = pd.DataFrame({
        "game_id": home["game_id"].values,
        "game_date": home["game_date"].dt.date.values,
        "home_team_abbr": home["team_abbr"].values,
        "away_team_abbr": home["opponent_team_abbr"].values,
    })
    schedule["season"] = schedule["game_date"].map(timeline.season_of)
    schedule["created_at"] = schedule_known_at(schedule["game_date"])
    schedule["tipoff_at"] = pd.Series(pd.NaT, index=schedule.index, dtype="datetime64[ns, UTC]")

    days = date_range(pairs["game_date"])
    run.stage(schema.TEAM_BOXSCORES, pairs.assign(game_date=pairs["game_date"].dt.date), days, path)
    run.set_schedule(schedule, days, path)
    return report


def _check_pairs(path: Path, df: pd.DataFrame) -> None:
    """Every game: two rows, one home and one away, on the same date."""
    g = df.reset_index().groupby("game_id")
    stats = g.agg(n=("team_abbr", "size"), homes=("is_home", "sum"),
                  dates=("game_date", "nunique"), line=("line", "min"), team=("team_abbr", "first"))
    single = stats[stats["n"] == 1]
    if len(single):
        s = single.iloc[0]
        raise fail(
            path,
            f"line {s['line']}: game {single.index[0]} has only one team row ({s['team']}); "
            f"{len(single):,} game(s) lack the other team's row",
            "Every game needs both teams' rows (the opponent and home/away come from the pair): "
            "add the missing row or remove the game, and import again",
        )
    for mask, problem in (
        (stats["n"] != 2, "has more than two team rows"),
        (stats["homes"] != 1, "needs exactly one home row (MATCHUP with 'vs.') and one away row (with '@')"),
        (stats["dates"] != 1, "has rows with different GAME_DATE values"),
    ):
        if mask.any():
            s = stats[mask].iloc[0]
            raise fail(path, f"line {s['line']}: game {stats[mask].index[0]} {problem}",
                       "Fix the game's two rows and import again")
