"""Generate a synthetic sample season into the raw tables (what `make demo` and most tests use).

Writes the five raw tables, validated against warehouse/schema.py:

  nba_raw.schedule                      one row per game (tip-off 7-10:30 pm Eastern)
  nba_raw.bdl_player_boxscores          one row per player per game
  nba_raw.team_boxscores                one row per team per game (exact sums of its players)
  nba_raw.odds_api_player_points_props  points lines: one row per player, game and book
  nba_raw.odds_api_player_props         rebounds, assists, threes, PRA and double-double:
                                        one row per player, game, market and book
  (lines: one snapshot a game day at 15:00 UTC, six books, more accurate than a season
  average as real books are; see warehouse/sample_lines.py)

The league: the first --teams of the 30 NBA teams, 15 made-up players each (a star,
starters, rotation, deep bench), an 82-game schedule from late October to mid April
(shorter seasons are proportionally shorter) with back-to-backs and no games on
Thanksgiving, the Cup final, Christmas Eve and the All-Star break. Players get hurt
and rest (their minutes and usage go to teammates: a starter's usage spikes when the
star sits), a few change roles mid-season, and form wanders. Trades: in the week before
the trade deadline (Feb 4 in a full season) 3-6 trades in a 30-team league, fewer in a
smaller one, none with fewer than 4 teams or 10 games a team; each swaps one or two players
between two teams, slot for slot (a starter or rotation player, sometimes a bench player
too), so rosters stay 15. From his first game for the new team a traded player's box
score rows and lines carry its team_abbr and opponent. See the modules
warehouse/sample_{schedule,league,boxscores,lines}.py for the details.

Absences: a player who is out (injured or resting) has NO box score row; a healthy
player the coach did not use has a row with minutes 0 (and zero counts).

Time columns: schedule rows are written in mid August; a game's box score rows when
the game ends (always before 06:00 UTC the next day, when box scores are known), except
a handful of late stat corrections written 1-3 days later; lines at their snapshot.

Deterministic: the same --seed gives byte-identical tables. Generating replaces the
season: every raw-table partition of that season (Aug-Jul) is rewritten or removed;
other seasons are left alone. Derived tables are not touched: run `nbafs transform`.

Examples:
  nbafs generate                                  # 30 teams, 82 games, seed 0
  nbafs generate --seed 7 --teams 6 --games-per-team 20   # a small league (well under 1 s)
  NBAFS_DATA_DIR=/tmp/other nbafs generate        # into another data directory
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import time

import numpy as np
import pandas as pd

from nbafs import timeline
from nbafs.errors import UserError
from warehouse import engine, sample_boxscores, sample_league, sample_lines, sample_schedule
from warehouse.schema import (BDL_PLAYER_BOXSCORES, ODDS_API_PLAYER_POINTS_PROPS, ODDS_API_PLAYER_PROPS, RAW_TABLES,
                              SCHEDULE, TEAM_BOXSCORES)
from warehouse.validate import conform

def _check(season: str, n_teams: int, games_per_team: int, start: dt.date | None) -> None:
    m = re.fullmatch(r"(\d{4})-(\d{2})", season)
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise UserError(f"--season: expected a season label like 2025-26, got {season!r}")
    if start is not None and timeline.season_of(start) != season:
        raise UserError(f"start {start} is in season {timeline.season_of(start)}, not {season}; "
                        f"pick a date from August {m.group(1)} to July 20{m.group(2)}")
    n_codes = len(sample_league.team_codes())
    if not (2 <= n_teams <= n_codes) or n_teams % 2:
        raise UserError(f"--teams: expected an even number of teams from 2 to {n_codes}, got {n_teams}")
    if not 1 <= games_per_team <= sample_schedule.FULL_SEASON_GAMES:
        raise UserError(
            f"--games-per-team: expected 1 to {sample_schedule.FULL_SEASON_GAMES}, got {games_per_team}"
        )


def build(season: str = "2025-26", seed: int = 0, n_teams: int = 30, games_per_team: int = 82,
          start: dt.date | None = None) -> dict[str, pd.DataFrame]:
    """The five raw tables of a synthetic season as DataFrames (not yet validated or written).

    Box score frames carry helper columns starting with ``_`` that the tables do not have.
    """
    _check(season, n_teams, games_per_team, start)
    rng = np.random.default_rng(seed)
    schedule = sample_schedule.build(season, n_teams, games_per_team, start, rng)
    tg = sample_boxscores.team_games(schedule, n_teams, games_per_team)
    league = sample_league.build(n_teams, tg.dates, rng)
    avail = sample_league.availability(league, tg.back_to_back, rng)
    players, teams = sample_boxscores.simulate(league, avail, schedule, tg, rng)
    points_lines, props = sample_lines.simulate(league, avail, schedule, tg, players, rng)

    codes = np.array(league.teams, dtype=object)
    # the league publishes the schedule in mid August (at least a week before opening night)
    first = schedule.game_date.min().astype(dt.date)
    release = min(dt.date(sample_schedule.season_start_year(season), 8, 14), first - dt.timedelta(days=7))
    schedule_df = pd.DataFrame({
        "game_id": schedule.game_id,
        "game_date": schedule.game_date,
        "season": season,
        "home_team_abbr": codes[schedule.home],
        "away_team_abbr": codes[schedule.away],
        "tipoff_at": schedule.tipoff_at,
        "created_at": pd.Timestamp(dt.datetime.combine(release, dt.time(17)), tz="UTC"),
    })
    return {
        SCHEDULE.fqn: schedule_df,
        BDL_PLAYER_BOXSCORES.fqn: players.sort_values(["game_id", "team_abbr", "_pid"], kind="stable"),
        TEAM_BOXSCORES.fqn: teams.sort_values(["game_id", "team_abbr"], kind="stable"),
        ODDS_API_PLAYER_POINTS_PROPS.fqn: points_lines.sort_values(["game_id", "player_lookup", "bookmaker"], kind="stable"),
        ODDS_API_PLAYER_PROPS.fqn: props.sort_values(["game_id", "player_lookup", "market", "bookmaker"], kind="stable"),
    }


def generate(season: str = "2025-26", seed: int = 0, n_teams: int = 30, games_per_team: int = 82,
             start: dt.date | None = None) -> dict[str, int]:
    """Generate the season into the warehouse, replacing that season's raw partitions.

    Returns the rows written per table (``dataset.table`` -> rows).
    """
    frames = build(season, seed, n_teams, games_per_team, start)
    tables = {t.fqn: t for t in RAW_TABLES}
    conformed = {
        fqn: conform(tables[fqn], df.reset_index(drop=True), source=f"nbafs generate --seed {seed}")
        for fqn, df in frames.items()
    }  # validate everything before writing anything
    written = {}
    wh = engine.current()
    for fqn, data in conformed.items():
        table = tables[fqn]
        stale = [d for d in wh.partitions(table) if timeline.season_of(d) == season]
        written[fqn] = wh.write_partitions(table, data, replace_dates=stale)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--season", default="2025-26",
                        help="season label; the schedule starts the Tuesday on or after Oct 20 of its first year (default: 2025-26)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed: the same seed gives byte-identical tables (default: 0)")
    parser.add_argument("--teams", type=int, default=30,
                        help="number of teams, even, 2-30: the first N NBA teams (default: 30)")
    parser.add_argument("--games-per-team", type=int, default=82,
                        help="games per team, 1-82; fewer games make a proportionally shorter season (default: 82)")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    print(f"generating the {args.season} sample season (seed {args.seed}, {args.teams} teams, "
          f"{args.games_per_team} games each)...", flush=True)
    written = generate(args.season, args.seed, args.teams, args.games_per_team)
    for fqn, rows in written.items():
        print(f"  {fqn:<40} {rows:>8,} rows")
    days = engine.current().partitions(SCHEDULE)
    season_days = [d for d in days if timeline.season_of(d) == args.season]
    print(f"done in {time.perf_counter() - started:.1f}s: {len(season_days)} game days, "
          f"{season_days[0]} .. {season_days[-1]}")
    return 0
