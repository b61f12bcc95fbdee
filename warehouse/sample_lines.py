"""The synthetic season's betting lines: every modelled prop market from six sportsbooks.

One snapshot per game day at 15:00 UTC, before every tip-off and the noon-Eastern
prediction time (``snapshot_at`` = ``created_at``). Points go to
``nba_raw.odds_api_player_points_props``; rebounds, assists, threes, PRA and the yes/no
double-double (line and prices NULL) to ``nba_raw.odds_api_player_props``.

The books know what the store cannot: today's injury report, and so where the minutes and
usage of the players who are out go, and each player's latent talent, role and form up to
his last game (``expected_stats``). They blend that with his last-10 mean, add a little
noise and post the x.5 line nearest the median, each book its own, priced with about 4.5%
overround (the over cheaper where its line is higher). Quoted: players not out with 18+
expected minutes, about 7 a team; threes for shooters, assists and double-doubles fewer.
A traded player is quoted for his new team's games from his first game for it (the books
know the trade), his last-10 mean running over his games for both teams.
Measured (30 teams, seed 0): the consensus line's MAE is 5-6% under the season-to-date
average's for points and PRA, 2-3% for rebounds and assists, about the same for threes
(real 2025-26 books: 1.4-6.6%, threes least); the over wins 48-51%.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from warehouse.markets import MARKETS, Market
from warehouse.sample_boxscores import MAX_MINUTES, OVERTIME_P, TeamGames
from warehouse.sample_league import STAR, Availability, League
from warehouse.sample_schedule import Schedule

BOOKMAKERS = ("draftkings", "fanduel", "betmgm", "williamhill_us", "betrivers", "bovada")
SNAPSHOT_HOUR_UTC = 15
MIN_EXPECTED_MINUTES = 18.0
FORM_GAMES = 10
OVERROUND = 0.045  # mean over a book's two implied probabilities minus 1
DOUBLE_DOUBLE = "player_double_double"


@dataclass(frozen=True)
class BookRule:
    """How the books treat one market."""

    min_expected: float  # quoted only if the expected stat reaches this (threes: shooters)
    form_weight: float  # weight of the last-10 mean in the consensus estimate (with 10 games)
    noise: float  # sd of the consensus estimate's log noise
    dispersion: float  # variance / mean of the stat around its expectation (negative binomial)
    book_sd: float  # sd of a book's own log estimate around the consensus (how often lines differ)
    offer: float  # share of quoted players a book offers
    shade: float = 1.02  # books lean their lines up (the public bets overs): the over wins a bit under half


RULES: dict[str, BookRule] = {
    "points": BookRule(0.0, 0.3, 0.07, 2.8, 0.018, 0.87),
    "rebounds": BookRule(2.0, 0.1, 0.02, 1.2, 0.025, 0.80),
    "assists": BookRule(1.3, 0.1, 0.02, 1.1, 0.03, 0.65),
    "threes": BookRule(1.0, 0.1, 0.02, 1.08, 0.03, 0.78, 1.0),
    "pra": BookRule(0.0, 0.3, 0.06, 2.5, 0.017, 0.62),
}
DOUBLE_DOUBLE_OFFER = 0.6


def expected_stats(league: League, avail: Availability, tg: TeamGames,
                   form: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """What a player is expected to do in a team game, [team game row, roster slot].

    The means of warehouse/sample_boxscores.py's draws given the latent talent, role changes,
    who is out (his minutes and the star's usage go to teammates), pace, the opponent's
    defense, home court and back-to-backs, and ``form`` ([player, k], a usage multiplier)
    if given. Keys: ``minutes`` and the markets' stats.
    """
    pid = league.roster[tg.team, tg.k]  # [R, S]: who holds each roster slot in that game
    k = tg.k[:, None]
    out = avail.out[pid, k]
    b2b = tg.back_to_back[tg.team, tg.k]
    total = 240.0 + 25.0 * float(np.arange(len(OVERTIME_P)) @ OVERTIME_P)

    # minutes: targets (a deep-bench player gets in now and then) shared out to the team's total
    target = league.minutes[pid] * avail.minutes_mult[pid, k]
    target = target * np.where((league.role[pid] == STAR) & b2b[:, None], 0.95, 1.0)
    bench = league.slot[pid] >= 9
    target = np.where(out, 0.0, np.maximum(target, 1.0) * np.where(bench, np.clip(league.minutes[pid] / 9.0, 0.25, 0.9), 1.0))
    minutes = target
    for cap in (np.minimum(np.maximum(target * 1.12, target + 3.0), MAX_MINUTES), MAX_MINUTES):
        for _ in range(5):
            gap = (total - minutes.sum(axis=1))[:, None]
            weight = np.sqrt(minutes) * (minutes < cap)
            with np.errstate(invalid="ignore", divide="ignore"):
                grown = minutes + np.nan_to_num(np.maximum(gap, 0) * weight / weight.sum(axis=1, keepdims=True))
            shrunk = minutes * total / minutes.sum(axis=1, keepdims=True)
            minutes = np.minimum(np.where(gap > 0, grown, shrunk), cap)

    usage = league.usage[pid] + avail.usage_add[pid, k]
    if form is not None:
        usage = usage * form[pid, k]
    usage[:, 1:5] *= np.where(out[:, 0], 1.10, 1.0)[:, None]
    share = usage * minutes / (usage * minutes).sum(axis=1, keepdims=True)
    used = share * ((league.pace[tg.team] + league.pace[tg.opp]) / 2 * total / 240.0)[:, None]

    tov, ftr = league.tov_share[pid], league.ft_rate[pid]
    fga = used * (1 - tov) / (1 + 0.44 * ftr)
    accuracy = (league.defense[tg.opp] * np.where(tg.is_home, 1.01, 1.0) * np.where(b2b, 0.985, 1.0))[:, None]
    fg3m = fga * league.three_share[pid] * np.minimum(league.three_pct[pid] * accuracy, 0.95)
    fg2m = fga * (1 - league.three_share[pid]) * np.minimum(league.two_pct[pid] * accuracy, 0.95)
    ftm = ftr * fga * (2 / 2.1 + 0.05) * league.ft_pct[pid]
    points = 2 * (fg2m + fg3m) + fg3m + ftm

    misses = (fga - fg2m - fg3m).sum(axis=1)
    opp_misses = np.roll(misses, tg.n // 2)  # home rows first, then away rows
    rebounds = minutes * (league.oreb_rate[pid] * misses[:, None] + league.dreb_rate[pid] * opp_misses[:, None]) / 47.0
    assists = league.ast_rate[pid] * minutes * ((fg2m + fg3m).sum(axis=1) / 42.0)[:, None]
    return {"minutes": minutes, "points": points, "rebounds": rebounds, "assists": assists,
            "threes_made": fg3m, "pra": points + rebounds + assists}


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


def _median_line(mean: np.ndarray, dispersion: float) -> np.ndarray:
    """The x.5 line nearest the median of a negative binomial (variance = dispersion * mean).

    That line minimizes the mean absolute error among x.5 lines: the median m's
    ``m + 0.5`` when F(m - 1) + F(m) < 1, else ``m - 0.5``. Decided on the mean to a hundredth.
    """
    grid = np.arange(int(np.ceil(np.max(mean, initial=0) * 100)) + 1) / 100
    r = np.maximum(grid, 0.05) / (dispersion - 1)
    q = 1 - 1 / dispersion
    pmf = (1 - q) ** r
    cdf = pmf.copy()
    below = np.zeros(grid.shape)  # F(m - 1)
    above = np.full(grid.shape, -1.0)  # F(m)
    median = np.zeros(grid.shape)
    for k in range(1, int(grid[-1] * 2 + 40)):
        under = cdf < 0.5
        below = np.where(under, cdf, below)
        above = np.where(~under & (above < 0), cdf, above)
        median += under
        pmf = pmf * (k - 1 + r) / k * q
        cdf = cdf + pmf
    line = np.where(below + above < 1, median + 0.5, median - 0.5)
    return line[np.rint(np.asarray(mean) * 100).astype(np.int64).clip(0)]


def _p_over(mean: np.ndarray, line: np.ndarray, dispersion: float) -> np.ndarray:
    """P(stat > line) under the negative binomial of ``_median_line``."""
    mean = np.maximum(mean, 0.05)
    q = 1 - 1 / dispersion
    r = mean / (dispersion - 1)
    pmf = (1 - q) ** r
    under = np.where(line > 0, pmf, 0.0)
    for k in range(1, int(line.max()) + 1):
        pmf = pmf * (k - 1 + r) / k * q
        under = under + np.where(line > k, pmf, 0.0)
    return 1 - under


def _american(p: np.ndarray) -> np.ndarray:
    return np.round(np.where(p >= 0.5, -100 * p / (1 - p), 100 * (1 - p) / p))


def _book_quotes(mean: np.ndarray, rule: BookRule, rng: np.random.Generator):
    """Each book's line and prices for the consensus estimates ``mean`` ([m]); (rows, books, line, over, under)."""
    nb = len(BOOKMAKERS)
    own = mean[:, None] * np.exp(rng.normal(0, rule.book_sd, (len(mean), nb)))
    line = _median_line(own, rule.dispersion)
    fair = _p_over(np.broadcast_to(mean[:, None], line.shape), line, rule.dispersion)
    fair = np.clip(fair + rng.normal(0, 0.01, fair.shape), 0.05, 0.95)
    vig = OVERROUND + rng.normal(0, 0.004, fair.shape)
    p_over = fair + vig / 2
    p_under = 1 - fair + vig / 2
    offers = rng.random(line.shape) < rule.offer
    i_idx, b_idx = np.nonzero(offers)
    return i_idx, b_idx, line[i_idx, b_idx], _american(p_over[i_idx, b_idx]), _american(p_under[i_idx, b_idx])


def simulate(league: League, avail: Availability, schedule: Schedule, tg: TeamGames,
             players: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The points lines' rows (player, game, book) and the other markets' (player, game, market, book)."""
    n, games = league.n_players, tg.back_to_back.shape[1]
    pid, k = players["_pid"].to_numpy(), players["_k"].to_numpy()
    played = np.zeros((n, games), dtype=bool)
    played[pid, k] = players["_seconds"].to_numpy() > 0
    outcome = {m.stat: sum(players[c].to_numpy() for c in m.box_score) for m in MARKETS}

    form = np.ones_like(avail.form)
    form[:, 1:] = avail.form[:, :-1]  # the form a player showed up to his team's last game
    expected = expected_stats(league, avail, tg, form)
    pgrid = league.roster[tg.team, tg.k]
    kk = tg.k[:, None]
    quoted = ~avail.out[pgrid, kk] & (expected["minutes"] >= MIN_EXPECTED_MINUTES)
    r_idx, s_idx = np.nonzero(quoted)
    p_of = pgrid[r_idx, s_idx]
    k_of = tg.k[r_idx]

    day = schedule.game_date[tg.game[r_idx]]
    snapshot = pd.DatetimeIndex(day.astype("datetime64[ns]")).tz_localize("UTC") + pd.Timedelta(hours=SNAPSHOT_HOUR_UTC)
    base = pd.DataFrame({
        "game_id": schedule.game_id[tg.game[r_idx]],
        "game_date": day,
        "player_lookup": league.lookup[p_of],
        "player_name": league.name[p_of],
        "snapshot_at": snapshot,
    })

    frames: dict[str, pd.DataFrame] = {}
    means: dict[str, np.ndarray] = {}
    for m in MARKETS:
        rule = RULES[m.name]
        values = np.zeros((n, games))
        values[pid, k] = outcome[m.stat]
        recent, count = _pregame_form(values, played, FORM_GAMES)
        latent = expected[m.stat][r_idx, s_idx]
        a = rule.form_weight * count[p_of, k_of] / FORM_GAMES
        mean = (1 - a) * latent + a * np.nan_to_num(recent[p_of, k_of])
        mean = mean * rule.shade * np.exp(rng.normal(0, rule.noise, len(mean)))
        means[m.stat] = mean
        rows = np.flatnonzero(latent >= rule.min_expected)
        i_idx, b_idx, line, over, under = _book_quotes(mean[rows], rule, rng)
        frames[m.name] = _rows(base, rows[i_idx], b_idx, m, line, over, under)

    # double-double: offered where the second best of expected points, rebounds, assists is 4+
    second = np.sort(np.stack([means["points"], means["rebounds"], means["assists"]]), axis=0)[1]
    rows = np.flatnonzero(second >= 4.0)
    offers = rng.random((len(rows), len(BOOKMAKERS))) < DOUBLE_DOUBLE_OFFER
    i_idx, b_idx = np.nonzero(offers)
    nothing = np.full(len(i_idx), np.nan)
    dd = _rows(base, rows[i_idx], b_idx, None, nothing, nothing, nothing).assign(market=DOUBLE_DOUBLE)

    points = frames.pop("points").drop(columns="market").rename(columns={"line": "points_line"})
    props = pd.concat([*frames.values(), dd], ignore_index=True)
    return points, props


def _rows(base: pd.DataFrame, rows: np.ndarray, books: np.ndarray, market: Market | None,
          line: np.ndarray, over: np.ndarray, under: np.ndarray) -> pd.DataFrame:
    out = base.iloc[rows].reset_index(drop=True)
    out.insert(4, "market", market.odds_api_key if market else None)
    out.insert(5, "bookmaker", np.array(BOOKMAKERS, dtype=object)[books])
    out.insert(6, "line", line)
    out.insert(7, "over_price", over)
    out.insert(8, "under_price", under)
    out["created_at"] = out["snapshot_at"]
    return out
