"""The synthetic season's box scores: every player's and team's line in every game.

Vectorized over [team game, roster slot]. For each team game:

1. Minutes: the available players' target minutes (times role changes, back-to-back rest
   for stars, noise; deep-bench players often stay on the bench, unless fewer than 9
   others would play) scaled to 240 team
   minutes, +25 per overtime (about 6% of games go to overtime), nobody above 42 (+5 per
   overtime) nor, unless the team is short-handed, far above his own target (+12% or
   +3 min); then rounded to whole seconds so the players' minutes add up exactly.
   Minutes freed by an absent player go to his teammates.
2. Possessions: each player's share of the team's used possessions (FGA + 0.44*FTA + TOV)
   is his usage times his minutes over the team's sum, so the minutes-weighted mean
   usage is 20 and Basketball-Reference's USG% of a player lands near his latent usage.
   When the star is out, the other starters take a bigger share (x1.10 on top of the
   redistribution): that is the usage spike ``usage_spike_score`` is meant to see.
3. Counts: FGA, FTA (in pairs, plus and-ones) and TOV are Poisson around that share;
   3PA, makes and free throws made are binomial on the player's accuracy, moved by the
   opponent's defense, home court and back-to-backs; points = 2*FGM + FG3M + FTM.
   Rebounds follow the misses, assists the team's makes; steals, blocks, fouls (at most 6).
4. Team rows are the exact sums of their player rows (minutes too).

Who has a row: a player who is out (injured or resting) has no row; a healthy player
who did not get in (coach's decision) has a row with minutes 0 and zero counts.
A traded player (warehouse/sample_league.py) plays in his roster slot of whichever team
holds him in that game: from his first game for the new team on, his rows carry its
``team_abbr`` and opponent, and his latent talent, form and injuries go with him.

``created_at``: the game's rows are written when it ends, about 2h15-2h35 after tip-off,
never after ``box_score_known_at`` (06:00 UTC the next day). A handful of rows are late
stat corrections, stored as finally corrected with a ``created_at`` 1 to 3 days later: a
two reclassified as a three (the player's row and his team's row change) or a defensive
rebound credited to a teammate (both players' rows change, the team total does not).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nbafs import timeline
from warehouse.sample_league import STAR, Availability, League
from warehouse.sample_schedule import Schedule

TEAM_STAT_COLUMNS = ("points", "fgm", "fga", "fta", "ftm", "turnovers", "oreb", "dreb")
OVERTIME_P = np.array([0.94, 0.05, 0.009, 0.001])  # 0, 1, 2, 3 overtimes
SOURCE = "sample"  # the source column of every generated row
MAX_MINUTES = 42.0
MIN_PLAYING = 9  # deep-bench players sit only while at least this many others play
CORRECTION_RATE = 0.0008  # share of played rows corrected late (at least 2 corrections)


@dataclass(frozen=True)
class TeamGames:
    """One row per team per game (home rows first, then away rows, in game order)."""

    game: np.ndarray  # index into the schedule
    team: np.ndarray
    opp: np.ndarray
    is_home: np.ndarray
    k: np.ndarray  # the team's game number, 0-based
    dates: np.ndarray  # [n_teams, games_per_team] datetime64[D]: the date of each team's k-th game
    back_to_back: np.ndarray  # [n_teams, games_per_team]

    @property
    def n(self) -> int:
        return len(self.game)


def team_games(schedule: Schedule, n_teams: int, games_per_team: int) -> TeamGames:
    g = np.arange(schedule.n_games)
    game = np.concatenate([g, g])
    team = np.concatenate([schedule.home, schedule.away])
    opp = np.concatenate([schedule.away, schedule.home])
    is_home = np.concatenate([np.ones_like(g, dtype=bool), np.zeros_like(g, dtype=bool)])
    order = np.lexsort((game, team))
    k = np.empty(len(game), dtype=np.int64)
    k[order] = np.arange(len(game)) - np.repeat(np.arange(n_teams) * games_per_team, games_per_team)
    dates = np.empty((n_teams, games_per_team), dtype="datetime64[D]")
    dates[team, k] = schedule.game_date[game]
    b2b = np.zeros((n_teams, games_per_team), dtype=bool)
    b2b[:, 1:] = (dates[:, 1:] - dates[:, :-1]) == np.timedelta64(1, "D")
    return TeamGames(game, team, opp, is_home, k, dates, b2b)


def _seconds(minutes: np.ndarray, total_minutes: np.ndarray) -> np.ndarray:
    """Whole seconds per player, proportional to ``minutes``, summing exactly to the team total."""
    total = (total_minutes * 60).astype(np.int64)
    exact = minutes * (total / minutes.sum(axis=1))[:, None]
    base = np.floor(exact).astype(np.int64)
    short = total - base.sum(axis=1)
    rank = np.argsort(np.argsort(-(exact - base), axis=1, kind="stable"), axis=1)
    return base + (rank < short[:, None])


def simulate(league: League, avail: Availability, schedule: Schedule, tg: TeamGames,
             rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The player rows and team rows of every game (created_at included, corrections applied)."""
    R = tg.n
    pid = league.roster[tg.team, tg.k]  # [R, S]: who holds each roster slot in that game
    k = tg.k[:, None]
    out = avail.out[pid, k]
    b2b = tg.back_to_back[tg.team, tg.k]
    overtimes = rng.choice(len(OVERTIME_P), size=schedule.n_games, p=OVERTIME_P)[tg.game]
    total_minutes = 240.0 + 25.0 * overtimes

    # 1. minutes
    target = league.minutes[pid] * avail.minutes_mult[pid, k]
    bench = league.slot[pid] >= 9
    noise = np.exp(rng.normal(0, np.where(bench, 0.35, 0.10)))
    target = target * noise * np.where((league.role[pid] == STAR) & b2b[:, None], 0.95, 1.0)
    p_play = np.clip(league.minutes[pid] / 9.0, 0.25, 0.9)
    sits = bench & (rng.random(pid.shape) > p_play)
    sits &= ((~out & ~sits).sum(axis=1) >= MIN_PLAYING)[:, None]  # short-handed: everyone plays
    target = np.where(out | sits, 0.0, np.maximum(target, 1.0))
    hard_cap = MAX_MINUTES + (5.0 * overtimes)[:, None]
    soft_cap = np.minimum(np.maximum(target * 1.12, target + 3.0), hard_cap)
    minutes = target
    for cap in (soft_cap, hard_cap):  # the soft cap first; the hard one if the team is short-handed
        for _ in range(5):  # short of minutes: share them by sqrt(minutes), so the bench gains most
            gap = (total_minutes - minutes.sum(axis=1))[:, None]
            weight = np.sqrt(minutes) * (minutes < cap)
            with np.errstate(invalid="ignore", divide="ignore"):
                grown = minutes + np.nan_to_num(np.maximum(gap, 0) * weight / weight.sum(axis=1, keepdims=True))
            shrunk = minutes * (total_minutes[:, None] / minutes.sum(axis=1, keepdims=True))
            minutes = np.minimum(np.where(gap > 0, grown, shrunk), cap)
    seconds = _seconds(minutes, total_minutes)
    minutes = seconds / 60.0

    # 2. possessions used
    usage = (league.usage[pid] + avail.usage_add[pid, k]) * avail.form[pid, k]
    usage = usage * np.exp(rng.normal(0, 0.12, pid.shape))
    star_out = out[:, 0]
    usage[:, 1:5] *= np.where(star_out, 1.10, 1.0)[:, None]
    weight = usage * minutes
    share = weight / weight.sum(axis=1, keepdims=True)
    pace = (league.pace[tg.team] + league.pace[tg.opp]) / 2
    team_used = pace * total_minutes / 240.0 * np.exp(rng.normal(0, 0.04, R))
    used = share * team_used[:, None]

    # 3. counts
    tov_share, ftr = league.tov_share[pid], league.ft_rate[pid]
    fga_mean = used * (1 - tov_share) / (1 + 0.44 * ftr)
    fga = rng.poisson(fga_mean)
    fta = 2 * rng.poisson(ftr * fga_mean / 2.1) + rng.poisson(ftr * fga_mean * 0.05)
    turnovers = rng.poisson(tov_share * used)
    fg3a = rng.binomial(fga, league.three_share[pid])
    accuracy = (league.defense[tg.opp] * np.where(tg.is_home, 1.01, 1.0) * np.where(b2b, 0.985, 1.0)
                * np.exp(rng.normal(0, 0.04, R)))[:, None]
    fg3m = rng.binomial(fg3a, np.clip(league.three_pct[pid] * accuracy, 0, 0.95))
    fg2m = rng.binomial(fga - fg3a, np.clip(league.two_pct[pid] * accuracy, 0, 0.95))
    fgm = fg2m + fg3m
    ftm = rng.binomial(fta, league.ft_pct[pid])
    points = 2 * fgm + fg3m + ftm

    half = R // 2
    misses = (fga - fgm).sum(axis=1)
    opp_misses = np.roll(misses, half)  # home rows first, then away rows
    oreb = rng.poisson(league.oreb_rate[pid] * minutes * (misses / 47.0)[:, None])
    dreb = rng.poisson(league.dreb_rate[pid] * minutes * (opp_misses / 47.0)[:, None])
    assists = rng.poisson(league.ast_rate[pid] * minutes * (fgm.sum(axis=1) / 42.0)[:, None])
    steals = rng.poisson(league.stl_rate[pid] * minutes)
    blocks = rng.poisson(league.blk_rate[pid] * minutes)
    fouls = np.minimum(rng.poisson(league.pf_rate[pid] * minutes), 6)

    # created_at: when the game ends, never after the box score is known
    tip = schedule.tipoff_at[tg.game]
    game_dates = schedule.game_date[tg.game]
    known = pd.DatetimeIndex(game_dates.astype("datetime64[ns]")).tz_localize("UTC") + pd.Timedelta(
        days=1, hours=timeline.KNOWN_HOUR_UTC
    )
    ends = tip + pd.to_timedelta(135 + rng.uniform(0, 20, schedule.n_games)[tg.game], unit="min")
    written = pd.DatetimeIndex(np.minimum(ends.asi8, known.asi8)).tz_localize("UTC").floor("s")

    rows = ~out
    r_idx, s_idx = np.nonzero(rows)
    stats = {
        "points": points, "fgm": fgm, "fga": fga, "fg3m": fg3m, "fg3a": fg3a, "ftm": ftm, "fta": fta,
        "oreb": oreb, "dreb": dreb, "assists": assists, "steals": steals, "blocks": blocks,
        "turnovers": turnovers, "personal_fouls": fouls,
    }
    p = pid[r_idx, s_idx]
    players = pd.DataFrame({
        "game_id": schedule.game_id[tg.game[r_idx]],
        "game_date": game_dates[r_idx],
        "player_lookup": league.lookup[p],
        "player_name": league.name[p],
        "team_abbr": np.array(league.teams, dtype=object)[tg.team[r_idx]],
        "opponent_team_abbr": np.array(league.teams, dtype=object)[tg.opp[r_idx]],
        "minutes": minutes[r_idx, s_idx],
        **{c: v[r_idx, s_idx] for c, v in stats.items()},
        "source": SOURCE,
        "created_at": written[r_idx],
        # helpers for the lines and corrections (not in the table: conform drops them)
        "_row": r_idx,
        "_pid": p,
        "_k": tg.k[r_idx],
        "_seconds": seconds[r_idx, s_idx],
    })
    players["_team_created_at"] = players["created_at"]
    _corrections(players, rng)
    players["rebounds"] = players["oreb"] + players["dreb"]
    teams = _team_rows(players, schedule, tg, league)
    return players, teams


def _corrections(players: pd.DataFrame, rng: np.random.Generator) -> None:
    """Late stat corrections, in place: the stored row is the corrected one, written later."""
    played = np.flatnonzero(players["_seconds"].to_numpy() > 0)
    n = max(2, int(round(len(played) * CORRECTION_RATE)))
    delay = pd.to_timedelta(rng.integers(24 * 60, 72 * 60, n), unit="min")
    fgm, fg3m = players["fgm"].to_numpy(), players["fg3m"].to_numpy()
    two_makers = played[(fgm - fg3m)[played] > 0]
    with_dreb = played[players["dreb"].to_numpy()[played] > 0]
    created = players["created_at"].copy()
    for i in range(n):
        if i % 2 == 0 and len(two_makers):  # a two reclassified as a three
            r = int(rng.choice(two_makers))
            for col in ("fg3a", "fg3m", "points"):
                players.iat[r, players.columns.get_loc(col)] += 1
            touched = [r]
            players.iat[r, players.columns.get_loc("_team_created_at")] += delay[i]
        elif len(with_dreb):  # a defensive rebound credited to the wrong teammate
            r = int(rng.choice(with_dreb))
            mates = played[(players["_row"].to_numpy()[played] == players.at[r, "_row"]) & (played != r)]
            if not len(mates) or players.at[r, "dreb"] == 0:
                continue
            to = int(rng.choice(mates))
            players.iat[r, players.columns.get_loc("dreb")] -= 1
            players.iat[to, players.columns.get_loc("dreb")] += 1
            touched = [r, to]
        else:
            continue
        for t in touched:
            created.iat[t] = players["created_at"].iat[t] + delay[i]
    players["created_at"] = created


def _team_rows(players: pd.DataFrame, schedule: Schedule, tg: TeamGames, league: League) -> pd.DataFrame:
    """Each team's row: the exact sums of its player rows, rewritten when a correction changed them."""
    sums = players.groupby("_row", sort=True).agg(
        seconds=("_seconds", "sum"),
        created_at=("_team_created_at", "max"),
        **{c: (c, "sum") for c in TEAM_STAT_COLUMNS},
    )
    r = sums.index.to_numpy()
    codes = np.array(league.teams, dtype=object)
    return pd.DataFrame({
        "game_id": schedule.game_id[tg.game[r]],
        "game_date": schedule.game_date[tg.game[r]],
        "team_abbr": codes[tg.team[r]],
        "opponent_team_abbr": codes[tg.opp[r]],
        "is_home": tg.is_home[r],
        "minutes": sums["seconds"].to_numpy() / 60.0,
        **{c: sums[c].to_numpy() for c in TEAM_STAT_COLUMNS},
        "source": SOURCE,
        "created_at": sums["created_at"].to_numpy(),
    })
