"""A tiny raw season for transformation tests, written through the real validation and storage.

Four teams, a schedule with back-to-backs and future games (no box scores yet), players
with DNP rows (minutes 0), a points total the source lost (NULL), a player traded
mid-season, and betting lines from three books over two snapshots. Other markets
(``other_market_lines``): rebounds and threes from two books, a book quoting another line than
the other, a missing price, a book missing from the later snapshot, a player with rebounds but
no points line, and rows the consensus must ignore (a yes/no market, a stored-only one).
Deterministic for a seed. Written with warehouse.validate.conform + warehouse.storage.write_partitions, as
an importer would.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from warehouse import storage
from warehouse.schema import (
    BDL_PLAYER_BOXSCORES, ODDS_API_PLAYER_POINTS_PROPS, ODDS_API_PLAYER_PROPS, SCHEDULE, TEAM_BOXSCORES,
)
from warehouse.validate import conform

TEAMS = ("AAA", "BBB", "CCC", "DDD")
SEASON_START = dt.date(2025, 10, 21)
TRADED = "tradedplayer"  # plays for AAA, then for CCC from TRADE_DATE on
TRADE_DATE = dt.date(2025, 11, 10)
LOST_POINTS = ("aaa_p1", 3)  # this player's 3rd game has points NULL
UTC = dt.timezone.utc


def _schedule(days: int, future_days: int) -> pd.DataFrame:
    """Every team plays most days, pairings rotate; the last ``future_days`` days are unplayed."""
    pairings = [(("AAA", "BBB"), ("CCC", "DDD")), (("CCC", "AAA"), ("DDD", "BBB")), (("AAA", "DDD"), ("BBB", "CCC"))]
    rows, n = [], 0
    for i in range(days + future_days):
        day = SEASON_START + dt.timedelta(days=i)
        if i % 5 == 3:  # a day off every five days: days_rest > 0 and back-to-backs both occur
            continue
        for home, away in pairings[i % 3]:
            if (i % 7 == 6) and home == "CCC":  # CCC and its opponent skip a day now and then
                continue
            n += 1
            rows.append(dict(
                game_id=f"00225{n:05d}", game_date=day, season="2025-26",
                home_team_abbr=home, away_team_abbr=away,
                tipoff_at=dt.datetime.combine(day, dt.time(23, 30), UTC),
                created_at=dt.datetime(2025, 8, 15, tzinfo=UTC),
            ))
    return pd.DataFrame(rows)


def _roster(team: str) -> list[str]:
    return [f"{team.lower()}_p{k}" for k in range(1, 9)]


def build(seed: int = 0, days: int = 40, future_days: int = 4) -> dict[str, pd.DataFrame]:
    """The raw frames (not written). Games dated in the last ``future_days`` days have no box scores."""
    rng = np.random.default_rng(seed)
    schedule = _schedule(days, future_days)
    last_played = SEASON_START + dt.timedelta(days=days - 1)
    players, teams, games_seen = [], [], {}
    for g in schedule.itertuples():
        if g.game_date > last_played:
            continue
        written = dt.datetime.combine(g.game_date + dt.timedelta(days=1), dt.time(4), UTC)
        for team, opp, home in ((g.home_team_abbr, g.away_team_abbr, True), (g.away_team_abbr, g.home_team_abbr, False)):
            roster = _roster(team)
            if team == "AAA" and g.game_date < TRADE_DATE or team == "CCC" and g.game_date >= TRADE_DATE:
                roster = roster + [TRADED]
            minutes_left = 240.0
            rows = []
            for k, player in enumerate(roster):
                dnp = rng.random() < 0.08 or (player.endswith("_p8") and rng.random() < 0.5)
                minutes = 0.0 if dnp else float(np.clip(rng.normal(34 - 3 * k, 4), 4, 44).round(1))
                minutes = min(minutes, minutes_left)
                minutes_left -= minutes
                fga = 0 if minutes == 0 else int(rng.poisson(minutes * 0.4))
                fta = 0 if minutes == 0 else int(rng.poisson(minutes * 0.1))
                tov = 0 if minutes == 0 else int(rng.poisson(minutes * 0.05))
                fgm = int(rng.binomial(fga, 0.47)) if fga else 0
                fg3a = int(rng.binomial(fga, 0.35)) if fga else 0
                fg3m = min(int(rng.binomial(fg3a, 0.36)) if fg3a else 0, fgm)
                ftm = int(rng.binomial(fta, 0.78)) if fta else 0
                oreb, dreb = (0, 0) if minutes == 0 else (int(rng.poisson(1)), int(rng.poisson(3)))
                n_game = games_seen[player] = games_seen.get(player, 0) + 1
                points = 2 * fgm + fg3m + ftm
                rows.append(dict(
                    game_id=g.game_id, game_date=g.game_date, player_lookup=player,
                    player_name=player.replace("_", " ").title(), team_abbr=team, opponent_team_abbr=opp,
                    minutes=minutes,
                    points=None if (player, n_game) == LOST_POINTS else points,
                    fgm=fgm, fga=fga, fg3m=fg3m, fg3a=fg3a, ftm=ftm, fta=fta, oreb=oreb, dreb=dreb,
                    rebounds=oreb + dreb, assists=int(rng.poisson(3)) if minutes else 0,
                    steals=int(rng.poisson(1)) if minutes else 0, blocks=int(rng.poisson(0.5)) if minutes else 0,
                    turnovers=tov, personal_fouls=int(rng.poisson(2)) if minutes else 0,
                    source="sample", created_at=written,
                ))
            players += rows
            box = pd.DataFrame(rows)
            # Team totals: the players' sums plus a little the box score lost (as real data has).
            teams.append(dict(
                game_id=g.game_id, game_date=g.game_date, team_abbr=team, opponent_team_abbr=opp, is_home=home,
                minutes=240.0, points=int(box.points.fillna(0).sum()) + int(rng.integers(0, 3)),
                fgm=int(box.fgm.sum()), fga=int(box.fga.sum()) + int(rng.integers(0, 3)), fta=int(box.fta.sum()),
                ftm=int(box.ftm.sum()), turnovers=int(box.turnovers.sum()) + int(rng.integers(0, 2)),
                oreb=int(box.oreb.sum()), dreb=int(box.dreb.sum()), source="sample", created_at=written,
            ))
    player_df = pd.DataFrame(players)
    # Lines: three books, two daily snapshots, for the first dozen game dates' starters.
    odds = []
    for g in schedule.itertuples():
        if g.game_date > SEASON_START + dt.timedelta(days=12):
            continue
        for team in (g.home_team_abbr, g.away_team_abbr):
            for player in _roster(team)[:3]:
                base = float(rng.integers(8, 30)) + 0.5
                for hour in (15, 19):
                    snap = dt.datetime.combine(g.game_date, dt.time(hour), UTC)
                    for b, book in enumerate(("draftkings", "fanduel", "betmgm")):
                        if hour == 19 and book == "betmgm":
                            continue  # one book missing from the later snapshot
                        odds.append(dict(
                            game_id=g.game_id, game_date=g.game_date, player_lookup=player,
                            player_name=player, bookmaker=book, points_line=base + (b - 1) * (1.0 if hour == 15 else 0.5),
                            over_price=-110.0, under_price=-110.0, snapshot_at=snap,
                            created_at=snap + dt.timedelta(minutes=2),
                        ))
    return {
        SCHEDULE.fqn: schedule,
        BDL_PLAYER_BOXSCORES.fqn: player_df,
        TEAM_BOXSCORES.fqn: pd.DataFrame(teams),
        ODDS_API_PLAYER_POINTS_PROPS.fqn: pd.DataFrame(odds),
        ODDS_API_PLAYER_PROPS.fqn: other_market_lines(schedule),
    }


def other_market_lines(schedule: pd.DataFrame, days: int = 6) -> pd.DataFrame:
    """Lines of other markets for the first ``days`` game dates (no random draws: the
    other frames stay as they were). Per team, at the 15:00 and 19:00 UTC snapshots:

    - players 1 and 2: rebounds at draftkings and fanduel, which is missing at 19:00; player 2's
      fanduel line is one higher (an alternate to the consensus: no exact-line price from it);
    - player 1: threes at both books at 15:00, fanduel without an under price; a double-double
      row (yes/no: no line, no prices) and a blocks line (stored, not modelled) at draftkings;
    - player 4 (no points line): rebounds at draftkings at 15:00 only;
    - player 5: only a double-double row, so no consensus row at all.
    """
    rows = []
    for g in schedule.itertuples():
        if g.game_date > SEASON_START + dt.timedelta(days=days):
            continue
        for team in (g.home_team_abbr, g.away_team_abbr):
            roster = _roster(team)
            for hour in (15, 19):
                snap = dt.datetime.combine(g.game_date, dt.time(hour), UTC)

                def line(player, market, book, value, over, under):
                    rows.append(dict(
                        game_id=g.game_id, game_date=g.game_date, player_lookup=player, player_name=player,
                        market=market, bookmaker=book, line=value, over_price=over, under_price=under,
                        snapshot_at=snap, created_at=snap + dt.timedelta(minutes=3),
                    ))

                late = float(hour == 19)
                for k, player in enumerate(roster[:2]):
                    base = 4.5 + k + late
                    line(player, "player_rebounds", "draftkings", base, -120.0, 100.0)
                    if hour == 15:
                        line(player, "player_rebounds", "fanduel", base + k, -105.0, -115.0)
                if hour == 15:
                    line(roster[0], "player_threes", "draftkings", 1.5, 120.0, -150.0)
                    line(roster[0], "player_threes", "fanduel", 1.5, -110.0, None)
                    line(roster[0], "player_double_double", "draftkings", None, None, None)
                    line(roster[0], "player_blocks", "draftkings", 0.5, -130.0, 100.0)
                    line(roster[3], "player_rebounds", "draftkings", 3.5, 110.0, -140.0)
                line(roster[4], "player_double_double", "fanduel", None, None, None)
    return pd.DataFrame(rows)


def write(frames: dict[str, pd.DataFrame]) -> None:
    """Validate and write raw frames into the warehouse of the current NBAFS_DATA_DIR."""
    from warehouse.schema import table

    for fqn, df in frames.items():
        t = table(fqn)
        storage.write_partitions(t, conform(t, df, source="tests/tiny_season.py"))


def generate(seed: int = 0, **kwargs) -> dict[str, pd.DataFrame]:
    frames = build(seed, **kwargs)
    write(frames)
    return frames
