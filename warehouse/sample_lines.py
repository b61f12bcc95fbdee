"""The synthetic season's betting lines: player points props from six sportsbooks.

One snapshot per game day at 15:00 UTC (10 or 11 am Eastern), before the earliest
tip-off (7 pm Eastern at the earliest) and before the noon-Eastern prediction time.
``snapshot_at`` = ``created_at`` = that time.

Who is quoted: players not ruled out (books read the injury report) whose expected
minutes are at least 20, about seven a team: mean minutes over the last 10 games
played, or their usual role's minutes before 3 games.

The consensus line is what a book can know before the game: the player's mean points
over his last 10 games played, blended with a talent prior (his latent expected points)
while that sample is short, raised 8% for the other starters when the team's star is
out, plus noise (sd 0.8), set on a half point (x.5). Each book moves it by 0, +-0.5 or
+-1 and skips a player now and then (8%); its over/under prices sit around -110 with the
vig, the over cheaper where that book's line is higher.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from warehouse.sample_boxscores import TeamGames
from warehouse.sample_league import ROSTER, Availability, League
from warehouse.sample_schedule import Schedule

BOOKMAKERS = ("draftkings", "fanduel", "betmgm", "williamhill_us", "betrivers", "bovada")
SNAPSHOT_HOUR_UTC = 15
MIN_EXPECTED_MINUTES = 20.0
FORM_GAMES = 10
BOOK_OFFSETS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
BOOK_OFFSET_P = np.array([0.07, 0.2, 0.46, 0.2, 0.07])


def expected_points(league: League) -> np.ndarray:
    """Points a player scores in his usual minutes at his latent usage and accuracy."""
    used = league.usage / 100 * 113 / 48 * league.minutes
    fga = used * (1 - league.tov_share) / (1 + 0.44 * league.ft_rate)
    per_shot = league.three_share * 3 * league.three_pct + (1 - league.three_share) * 2 * league.two_pct
    return fga * per_shot + league.ft_rate * fga * league.ft_pct


def _pregame_form(values: np.ndarray, played: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` over each player's last ``window`` games played before game k, and the count."""
    n, games = values.shape
    buf = np.zeros((n, window))
    count = np.zeros(n, dtype=np.int64)
    mean = np.full((n, games), np.nan)
    counts = np.zeros((n, games), dtype=np.int64)
    for k in range(games):
        c = np.minimum(count, window)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[:, k] = np.where(c > 0, buf.sum(axis=1) / c, np.nan)
        counts[:, k] = c
        p = played[:, k]
        buf[p, count[p] % window] = values[p, k]
        count[p] += 1
    return mean, counts


def _american(p: np.ndarray) -> np.ndarray:
    return np.round(np.where(p >= 0.5, -100 * p / (1 - p), 100 * (1 - p) / p))


def simulate(league: League, avail: Availability, schedule: Schedule, tg: TeamGames,
             players: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The lines table's rows (one per player, game, book; one snapshot a game day)."""
    n, games = league.n_players, tg.back_to_back.shape[1]
    points = np.zeros((n, games))
    minutes = np.zeros((n, games))
    played = np.zeros((n, games), dtype=bool)
    pid, k = players["_pid"].to_numpy(), players["_k"].to_numpy()
    points[pid, k] = players["points"].to_numpy()
    minutes[pid, k] = players["minutes"].to_numpy()
    played[pid, k] = players["_seconds"].to_numpy() > 0

    pts_form, count = _pregame_form(points, played, FORM_GAMES)
    min_form, _ = _pregame_form(minutes, played, FORM_GAMES)
    prior = expected_points(league)[:, None]
    weight = np.minimum(count, FORM_GAMES) / FORM_GAMES * 0.75
    consensus = np.where(count > 0, weight * np.nan_to_num(pts_form) + (1 - weight) * prior, prior)
    exp_minutes = np.where(count >= 3, min_form, league.minutes[:, None])

    # [team game row, slot]
    pgrid = tg.team[:, None] * ROSTER + np.arange(ROSTER)[None, :]
    kk = tg.k[:, None]
    out = avail.out[pgrid, kk]
    line = consensus[pgrid, kk]
    line[:, 1:5] *= np.where(out[:, 0], 1.08, 1.0)[:, None]
    line = np.floor(np.maximum(line + rng.normal(0, 0.8, line.shape), 0.5)) + 0.5
    quoted = ~out & (exp_minutes[pgrid, kk] >= MIN_EXPECTED_MINUTES)
    r_idx, s_idx = np.nonzero(quoted)

    nb = len(BOOKMAKERS)
    m = len(r_idx)
    offset = rng.choice(BOOK_OFFSETS, size=(m, nb), p=BOOK_OFFSET_P)
    book_line = np.maximum(line[r_idx, s_idx][:, None] + offset, 0.5)
    p_over = 0.5238 - 0.035 * offset + rng.normal(0, 0.012, (m, nb))
    p_under = 1.0476 - p_over + rng.normal(0, 0.006, (m, nb))
    offers = rng.random((m, nb)) >= 0.08
    i_idx, b_idx = np.nonzero(offers)

    game = tg.game[r_idx][i_idx]
    p = pgrid[r_idx, s_idx][i_idx]
    day = schedule.game_date[game]
    snapshot = pd.DatetimeIndex(day.astype("datetime64[ns]")).tz_localize("UTC") + pd.Timedelta(hours=SNAPSHOT_HOUR_UTC)
    return pd.DataFrame({
        "game_id": schedule.game_id[game],
        "game_date": day,
        "player_lookup": league.lookup[p],
        "player_name": league.name[p],
        "bookmaker": np.array(BOOKMAKERS, dtype=object)[b_idx],
        "points_line": book_line[i_idx, b_idx],
        "over_price": _american(p_over[i_idx, b_idx]),
        "under_price": _american(p_under[i_idx, b_idx]),
        "snapshot_at": snapshot,
        "created_at": snapshot,
    })
