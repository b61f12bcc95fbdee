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
RAMP_AFTER = 4  # games missed injured before a player comes back on a minutes restriction
RAMP = np.array([0.75, 0.85, 0.93])  # his minutes multiplier in his first games back


def team_codes() -> list[str]:
    """The 30 NBA three-letter codes, in warehouse.teams' order."""
    return [t.abbr for t in TEAMS]


@dataclass(frozen=True)
class League:
    teams: list[str]
    # one entry per player (index p = team * ROSTER + slot)
    name: np.ndarray
    lookup: np.ndarray
    team: np.ndarray
    slot: np.ndarray
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

    @property
    def n_players(self) -> int:
        return len(self.name)


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


def build(n_teams: int, rng: np.random.Generator) -> League:
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
    b2b = back_to_back[league.team]
    p_rest = np.where(b2b, np.array([0.10, 0.04, 0.01, 0.0])[league.role][:, None],
                      np.array([0.005, 0.002, 0.0, 0.0])[league.role][:, None])
    resting = (rng.random((n, games)) < p_rest) & ~injured

    # Every team keeps at least MIN_AVAILABLE players: deep bench players come back first.
    out = (injured | resting).reshape(len(league.teams), ROSTER, games)
    short = (ROSTER - out.sum(axis=1)) < MIN_AVAILABLE  # [team, game]
    bench = np.zeros(ROSTER, dtype=bool)
    bench[9:] = True
    fix = (short[:, None, :] & bench[None, :, None]).reshape(n, games)
    injured &= ~fix
    resting &= ~fix

    # Role changes: in about 40% of the teams a rotation player takes a starter's role.
    minutes_mult = np.ones((n, games))
    usage_add = np.zeros((n, games))
    for t in np.flatnonzero(rng.random(len(league.teams)) < 0.4):
        k0 = int(rng.integers(int(0.3 * games), max(int(0.7 * games), int(0.3 * games) + 1)))
        up = t * ROSTER + int(rng.integers(5, 9))
        down = t * ROSTER + int(rng.integers(2, 5))
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
