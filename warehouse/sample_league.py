"""The synthetic season's league: teams, rosters, each player's latent talent, and who is out.

Every team has 15 players in fixed roster slots, each slot with a role:

| slots | role | minutes when all are healthy | usage (Basketball-Reference USG%) |
|---|---|---|---|
| 0 | star | ~34 | 26-35 (a second star in slot 1 for some teams: ~27) |
| 1-4 | starters | 27-31 | 13-26 |
| 5-8 | rotation | 15-22 | 11-25 |
| 9-14 | deep bench | 1-9 (often do not play) | 10-26 |

A player's latent talent: minutes, usage share, shot mix and accuracy (3PA share, 3P%,
2P%, FTA per FGA, FT%), turnover share and per-minute rebounds, assists, steals, blocks
and fouls; about one player in four is a big (more rebounds and blocks, fewer threes).

Per player and team game (index ``k``: the team's k-th game) this module also decides:

- ``out``: injured (stretches of 1-30 games, about 1.2 a player a season) or resting
  (rarer: mostly on the second night of a back-to-back, for stars most). A player who is
  out has no box score row; every team keeps at least 8 players available.
- ``minutes_mult`` / ``usage_add``: mid-season role changes (a rotation player promoted
  to the starting five, a starter demoted), so recent form says more than the season;
  and a minutes restriction in the first 3 games back from an injury of 4+ games.
- ``form``: a slowly wandering scoring form (AR(1) on usage), so hot and cold streaks exist.

Trades (``League.trades``, ``League.roster``): in the week before a trade deadline (61% of
the way through the calendar: Feb 4 in a full season) 3-6 trades in a 30-team league
(proportionally fewer in a smaller one, none with fewer than TRADE_MIN_TEAMS teams or
TRADE_MIN_GAMES games a team). Each swaps one player of a starter or rotation slot (1-8),
and in two trades out of five also one deep-bench player, for the player in the same slot
of the other team, between two teams that have played the same number of games by then and
trade with nobody else. So every roster keeps 15 players and its shape, a traded player's
k-th game is still his then team's k-th game (``out``, ``form`` and the other arrays above
are per player and k), his latent talent, form and injuries follow him, and his first game
for the new team is its first game after the trade date.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warehouse.names import normalize
from warehouse.sample_names import FIRST_NAMES, LAST_NAMES, SUFFIXES
from warehouse.teams import TEAMS

ROSTER = 15
STAR, STARTER, ROTATION, BENCH = 0, 1, 2, 3
SLOT_ROLE = np.array([STAR] + [STARTER] * 4 + [ROTATION] * 4 + [BENCH] * 6)
SLOT_MINUTES = np.array([33, 30.5, 29.5, 27.5, 26.5, 21.5, 19, 17, 15, 10, 7, 4, 3, 2, 2], dtype=float)
MIN_AVAILABLE = 8
TRADE_MIN_TEAMS = 4  # smaller leagues have no trades
TRADE_MIN_GAMES = 10  # nor do seasons shorter than this (games a team)
TRADE_DEADLINE = 0.61  # the deadline's place in the season's calendar (Feb 4 in a full season)
TRADE_WINDOW_DAYS = 7  # trades are made on the deadline or in the 6 days before it
RAMP_AFTER = 4  # games missed injured before a player comes back on a minutes restriction
RAMP = np.array([0.75, 0.85, 0.93])  # his minutes multiplier in his first games back


def team_codes() -> list[str]:
    """The 30 NBA three-letter codes, in warehouse.teams' order."""
    return [t.abbr for t in TEAMS]


@dataclass(frozen=True)
class Trade:
    """Two teams swap the players in ``slots``: each plays for the other team after ``date``."""

    date: np.datetime64  # the day it is made: both teams' games up to it are with the old rosters
    k: int  # games both teams had played by then: the players' first game for the new team is game k
    teams: tuple[int, int]
    slots: tuple[int, ...]

    def players(self, league: "League") -> tuple[np.ndarray, np.ndarray]:
        """The players each team gives up (the first team's, the second's), slot by slot."""
        slots = list(self.slots)
        return league.roster[self.teams[0], self.k - 1, slots], league.roster[self.teams[1], self.k - 1, slots]


@dataclass(frozen=True)
class League:
    teams: list[str]
    # one entry per player (index p = team * ROSTER + slot on opening night)
    name: np.ndarray
    lookup: np.ndarray
    team: np.ndarray  # his team on opening night (``team_at`` after trades)
    slot: np.ndarray  # his roster slot (a trade keeps it)
    role: np.ndarray
    big: np.ndarray
    minutes: np.ndarray
    usage: np.ndarray
    three_share: np.ndarray
    three_pct: np.ndarray
    two_pct: np.ndarray
    ft_rate: np.ndarray
    ft_pct: np.ndarray
    tov_share: np.ndarray
    oreb_rate: np.ndarray
    dreb_rate: np.ndarray
    ast_rate: np.ndarray
    stl_rate: np.ndarray
    blk_rate: np.ndarray
    pf_rate: np.ndarray
    # one entry per team
    pace: np.ndarray  # team possessions used per 48 minutes (FGA + 0.44*FTA + TOV)
    defense: np.ndarray  # multiplier on opponents' shooting accuracy (<1: good defense)
    # who holds each roster slot in each team game k: [n_teams, games, ROSTER] player index
    roster: np.ndarray
    trades: tuple[Trade, ...]

    @property
    def n_players(self) -> int:
        return len(self.name)

    def team_at(self) -> np.ndarray:
        """The team each player plays his k-th game for: [n_players, games]."""
        n_teams, games, _ = self.roster.shape
        out = np.empty((self.n_players, games), dtype=np.int64)
        out[self.roster, np.arange(games)[None, :, None]] = np.arange(n_teams)[:, None, None]
        return out


def _names(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = f"{FIRST_NAMES[rng.integers(len(FIRST_NAMES))]} {LAST_NAMES[rng.integers(len(LAST_NAMES))]}"
        if rng.random() < 0.04:
            name += " " + SUFFIXES[rng.integers(len(SUFFIXES))]
        key = normalize(name)
        if key not in seen:
            seen.add(key)
            names.append(name)
    return np.array(names, dtype=object), np.array([normalize(x) for x in names], dtype=object)


def trades(game_dates: np.ndarray, rng: np.random.Generator) -> tuple[Trade, ...]:
    """The season's trades, given every team's game dates ([n_teams, games] datetime64[D])."""
    n_teams, games = game_dates.shape
    if n_teams < TRADE_MIN_TEAMS or games < TRADE_MIN_GAMES:
        return ()
    first, last = game_dates.min(), game_dates.max()
    deadline = first + np.timedelta64(int(round(TRADE_DEADLINE * int((last - first).astype(int)))), "D")
    wanted = max(1, int(round(int(rng.integers(3, 7)) * n_teams / 30)))
    free = np.ones(n_teams, dtype=bool)
    made: list[Trade] = []
    for day in np.sort(deadline - rng.integers(0, TRADE_WINDOW_DAYS, wanted).astype("timedelta64[D]")):
        played = (game_dates <= day).sum(axis=1)
        # pairs of free teams that have played as many games, with games left to play
        pairs = [(a, b) for a in range(n_teams) for b in range(a + 1, n_teams)
                 if free[a] and free[b] and played[a] == played[b] and 0 < played[a] < games]
        if not pairs:
            continue
        a, b = pairs[int(rng.integers(len(pairs)))]
        slots = (int(rng.integers(1, 9)),) + ((int(rng.integers(9, ROSTER)),) if rng.random() < 0.4 else ())
        free[a] = free[b] = False
        made.append(Trade(day, int(played[a]), (a, b), slots))
    return tuple(made)


def _roster(n_teams: int, games: int, made: tuple[Trade, ...]) -> np.ndarray:
    roster = np.broadcast_to((np.arange(n_teams)[:, None] * ROSTER + np.arange(ROSTER))[:, None, :],
                             (n_teams, games, ROSTER)).copy()
    for t in made:  # each team trades at most once, so the opening-night roster is the one before
        (a, b), k = t.teams, t.k
        for s in t.slots:
            roster[a, k:, s], roster[b, k:, s] = roster[b, k - 1, s], roster[a, k - 1, s]
    return roster


def build(n_teams: int, game_dates: np.ndarray, rng: np.random.Generator) -> League:
    """The league; ``game_dates`` ([n_teams, games]) places the trades.

    The trades draw from a child of ``rng`` (``rng.spawn``), so ``rng``'s own stream, and
    with it every other draw of the season, is the same as in a league without trades.
    """
    codes = team_codes()[:n_teams]
    n = n_teams * ROSTER
    team = np.repeat(np.arange(n_teams), ROSTER)
    slot = np.tile(np.arange(ROSTER), n_teams)
    role = SLOT_ROLE[slot].copy()
    second_star = (slot == 1) & np.repeat(rng.random(n_teams) < 0.3, ROSTER)

    def normal(mean, sd, lo, hi):
        return np.clip(rng.normal(mean, sd, n), lo, hi)

    big = np.zeros(n, dtype=bool)
    for t in range(n_teams):  # one big starter, one or two bigs in the rotation, one on the bench
        base = t * ROSTER
        big[base + rng.choice([1, 2, 3, 4])] = True
        big[base + rng.choice([5, 6, 7, 8], size=rng.integers(1, 3), replace=False)] = True
        big[base + rng.choice(np.arange(9, ROSTER))] = True
        big[base] = rng.random() < 0.25

    minutes_sd = np.array([1.2, 2.0, 2.5, 1.5])[role]
    minutes = np.clip(SLOT_MINUTES[slot] + rng.normal(0, 1, n) * minutes_sd, 0.5, 37.5)
    usage = np.select(
        [role == STAR, second_star, role == STARTER, role == ROTATION],
        [normal(30.5, 2.2, 26, 35), normal(27, 1.8, 24, 31), normal(19.5, 3, 13, 26), normal(17.5, 3, 11, 25)],
        normal(17, 3.5, 10, 26),
    )
    star_bonus = (role == STAR) | second_star
    name, lookup = _names(n, rng)
    made = trades(game_dates, rng.spawn(1)[0])
    return League(
        teams=codes,
        name=name,
        lookup=lookup,
        team=team,
        slot=slot,
        role=role,
        big=big,
        minutes=minutes,
        usage=usage,
        three_share=np.where(big, normal(0.18, 0.12, 0.0, 0.5), normal(0.45, 0.1, 0.15, 0.7)),
        three_pct=normal(0.36, 0.03, 0.28, 0.43) - 0.02 * big,
        two_pct=np.where(big, normal(0.60, 0.04, 0.5, 0.7), normal(0.52, 0.04, 0.42, 0.62)) + 0.02 * star_bonus,
        ft_rate=normal(0.25, 0.08, 0.08, 0.5) + 0.08 * star_bonus,
        ft_pct=normal(0.79, 0.06, 0.55, 0.93) - 0.07 * big,
        tov_share=normal(0.12, 0.025, 0.06, 0.2),
        oreb_rate=np.where(big, normal(0.105, 0.02, 0.05, 0.17), normal(0.028, 0.01, 0.005, 0.06)),
        dreb_rate=np.where(big, normal(0.22, 0.04, 0.13, 0.32), normal(0.10, 0.025, 0.05, 0.17)),
        ast_rate=np.where(big, normal(0.07, 0.03, 0.02, 0.2), normal(0.12, 0.04, 0.03, 0.25)) + 0.04 * star_bonus,
        stl_rate=normal(0.035, 0.01, 0.01, 0.07),
        blk_rate=np.where(big, normal(0.05, 0.015, 0.02, 0.1), normal(0.012, 0.006, 0.0, 0.03)),
        pf_rate=normal(0.083, 0.02, 0.03, 0.15),
        pace=np.clip(rng.normal(111, 3, n_teams), 102, 120),
        defense=np.clip(rng.normal(1.0, 0.025, n_teams), 0.94, 1.06),
        roster=_roster(n_teams, game_dates.shape[1], made),
        trades=made,
    )


@dataclass(frozen=True)
class Availability:
    """Per player and team game k ([n_players, games_per_team])."""

    injured: np.ndarray
    resting: np.ndarray
    minutes_mult: np.ndarray
    usage_add: np.ndarray
    form: np.ndarray

    @property
    def out(self) -> np.ndarray:
        return self.injured | self.resting


def availability(league: League, back_to_back: np.ndarray, rng: np.random.Generator) -> Availability:
    """Injuries, rest days, role changes and form. ``back_to_back``: [n_teams, games] bool."""
    n, games = league.n_players, back_to_back.shape[1]

    # Injuries: stretches marked on a difference array, then accumulated.
    per_player = rng.poisson(1.2, n)
    who = np.repeat(np.arange(n), per_player)
    start = rng.integers(0, games, len(who))
    kind = rng.random(len(who))
    length = np.where(kind < 0.65, rng.integers(1, 4, len(who)),
                      np.where(kind < 0.92, rng.integers(4, 13, len(who)), rng.integers(13, 31, len(who))))
    diff = np.zeros((n, games + 1), dtype=np.int64)
    np.add.at(diff, (who, start), 1)
    np.add.at(diff, (who, np.minimum(start + length, games)), -1)
    injured = np.cumsum(diff, axis=1)[:, :games] > 0

    # Rest: load management, mostly on the second night of a back-to-back, and rarer than
    # injuries (as under the NBA's player participation policy): so a player who sat his
    # team's last game is usually still hurt, as an injury report would say.
    b2b = back_to_back[league.team_at(), np.arange(games)[None, :]]
    p_rest = np.where(b2b, np.array([0.10, 0.04, 0.01, 0.0])[league.role][:, None],
                      np.array([0.005, 0.002, 0.0, 0.0])[league.role][:, None])
    resting = (rng.random((n, games)) < p_rest) & ~injured

    # Every team keeps at least MIN_AVAILABLE players: deep bench players come back first.
    k_of = np.arange(games)[None, :, None]
    out = (injured | resting)[league.roster, k_of]  # [team, game, slot]
    short = (ROSTER - out.sum(axis=2)) < MIN_AVAILABLE  # [team, game]
    fix = np.zeros((n, games), dtype=bool)
    t_idx, k_idx = np.nonzero(short)
    fix[league.roster[t_idx, k_idx, 9:], k_idx[:, None]] = True
    injured &= ~fix
    resting &= ~fix

    # Role changes: in about 40% of the teams a rotation player takes a starter's role.
    minutes_mult = np.ones((n, games))
    usage_add = np.zeros((n, games))
    for t in np.flatnonzero(rng.random(len(league.teams)) < 0.4):
        k0 = int(rng.integers(int(0.3 * games), max(int(0.7 * games), int(0.3 * games) + 1)))
        up = league.roster[t, k0, int(rng.integers(5, 9))]  # the players in those slots at game k0
        down = league.roster[t, k0, int(rng.integers(2, 5))]
        minutes_mult[up, k0:] = 1.45
        usage_add[up, k0:] = 2.5
        minutes_mult[down, k0:] = 0.7
        usage_add[down, k0:] = -2.0

    # Back from an injury of RAMP_AFTER games or more: a minutes restriction for RAMP games.
    streak = np.zeros(n, dtype=np.int64)
    since = np.full(n, len(RAMP), dtype=np.int64)
    for k in range(games):
        hurt = injured[:, k]
        since = np.where(~hurt & (streak >= RAMP_AFTER), 0, since + 1)
        streak = np.where(hurt, streak + 1, 0)
        minutes_mult[:, k] *= np.where(~hurt & (since < len(RAMP)), RAMP[np.minimum(since, len(RAMP) - 1)], 1.0)

    # Form: AR(1) on log usage, stationary sd ~0.11.
    shocks = rng.normal(0, 0.055, (n, games))
    x = np.empty((n, games))
    x[:, 0] = shocks[:, 0] * 2
    for k in range(1, games):
        x[:, k] = 0.87 * x[:, k - 1] + shocks[:, k]
    return Availability(injured, resting, minutes_mult, usage_add, np.exp(x))
