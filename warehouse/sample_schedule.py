"""The synthetic season's schedule: who plays whom, on which day, at what time.

How it is built (deterministic for a numpy Generator):

1. Rounds: ``games_per_team`` perfect matchings of the teams (circle method, a freshly
   shuffled team order for every full round robin), so every team plays exactly
   ``games_per_team`` games and opponents are spread evenly.
2. Home and away: the games are oriented along closed trails of the match graph, which
   gives every team as many home as away games (one apart when the count is odd).
3. Days: round ``r`` is aimed at the ``r``-th fraction of the game days with some jitter
   (round 0 on opening night, the last round on the last day), then each game takes the
   nearest day on which neither team already plays and neither would play three days in
   a row. The jitter is what makes back-to-backs; a game moves
   up to 3 days rather than give a team more than 14 (over 82 games), so teams have about
   12-15 each, as in the NBA.
4. Calendar: a full season runs from the Tuesday on or after Oct 20 to about Apr 12 (a
   shorter season is proportionally shorter); no games on Thanksgiving, on the NBA Cup
   final (third Tuesday of December), on Christmas Eve, nor in the All-Star break.
5. Tip-off: 7:00 to 10:30 pm US/Eastern on the game date (so 23:00 to 03:30 UTC).
   Game ids follow NBA.com: ``002`` + the season's two-digit start year + a 5-digit number
   in date and tip-off order (``0022500001`` is the first game of 2025-26).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nbafs.timeline import EASTERN

FULL_SEASON_GAMES = 82
FULL_SEASON_DAYS = 174  # Oct 21 .. Apr 12 inclusive, as in 2025-26

# Tip-off times (US/Eastern, minutes after midnight) and how often each occurs.
TIPOFF_MINUTES_ET = np.array([19 * 60, 19 * 60 + 30, 20 * 60, 21 * 60, 22 * 60, 22 * 60 + 30])
TIPOFF_WEIGHTS = np.array([0.34, 0.30, 0.16, 0.06, 0.10, 0.04])

MAX_BACK_TO_BACKS = 14  # per team over 82 games: a game moves up to 3 days to avoid one more
JITTER = 0.36  # half-width of a game's jitter around its round, in rounds (with the quota: ~14 back-to-backs a team)


@dataclass(frozen=True)
class Schedule:
    """One row per game, sorted by game id (= date, then tip-off)."""

    game_id: np.ndarray  # str
    game_date: np.ndarray  # datetime64[D]
    home: np.ndarray  # team index
    away: np.ndarray  # team index
    tipoff_at: pd.DatetimeIndex  # UTC

    @property
    def n_games(self) -> int:
        return len(self.game_id)


def season_start_year(season: str) -> int:
    return int(season[:4])


def default_start(season: str) -> dt.date:
    """Opening night: the Tuesday on or after Oct 20 of the season's first year."""
    d = dt.date(season_start_year(season), 10, 20)
    return d + dt.timedelta(days=(1 - d.weekday()) % 7)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    d = dt.date(year, month, 1)
    return d + dt.timedelta(days=(weekday - d.weekday()) % 7 + 7 * (n - 1))


def no_game_days(season: str) -> set[dt.date]:
    """Days without regular-season games: Thanksgiving, Cup final, Christmas Eve, All-Star break."""
    y = season_start_year(season)
    thanksgiving = _nth_weekday(y, 11, 3, 4)
    cup_final = _nth_weekday(y, 12, 1, 3)
    presidents_day = _nth_weekday(y + 1, 2, 0, 3)
    all_star = {presidents_day + dt.timedelta(days=k) for k in range(-3, 3)}
    return {thanksgiving, cup_final, dt.date(y, 12, 24)} | all_star


def game_days(season: str, games_per_team: int, start: dt.date | None = None) -> list[dt.date]:
    """The calendar days games may be played on, holidays removed."""
    start = start or default_start(season)
    span = max(games_per_team + 1, round((FULL_SEASON_DAYS - 1) * games_per_team / FULL_SEASON_GAMES) + 1)
    off = no_game_days(season)
    days = [start + dt.timedelta(days=i) for i in range(span)]
    return [d for d in days if d not in off]


def rounds(n_teams: int, games_per_team: int, rng: np.random.Generator) -> np.ndarray:
    """``games_per_team`` perfect matchings as an array [round, n_teams // 2, 2] of team indices."""
    half = n_teams // 2
    out = []
    while len(out) < games_per_team:
        order = rng.permutation(n_teams)
        cycle = []
        arr = list(range(n_teams))
        for _ in range(n_teams - 1):
            cycle.append([(order[arr[i]], order[arr[n_teams - 1 - i]]) for i in range(half)])
            arr = [arr[0], arr[-1], *arr[1:-1]]
        for idx in rng.permutation(len(cycle)):
            out.append(cycle[idx])
    return np.array(out[:games_per_team], dtype=np.int64)


def balanced_home(pairs: np.ndarray, n_teams: int, rng: np.random.Generator) -> np.ndarray:
    """Orient each game (a, b) as [home, away] so every team's home and away counts differ by <= 1.

    Every vertex of the match multigraph has the same degree; when it is odd, a helper
    vertex joined to every team makes all degrees even. Walking closed trails and orienting
    each edge along the walk gives every vertex as many incoming as outgoing edges.
    """
    edges = [tuple(p) for p in pairs]
    if len(pairs) and np.bincount(pairs.ravel(), minlength=n_teams)[0] % 2:
        edges += [(t, n_teams) for t in range(n_teams)]
    order = rng.permutation(len(edges))
    adjacency: dict[int, list[int]] = {}
    for e in order:
        a, b = edges[e]
        adjacency.setdefault(a, []).append(e)
        adjacency.setdefault(b, []).append(e)
    used = np.zeros(len(edges), dtype=bool)
    oriented = np.zeros((len(edges), 2), dtype=np.int64)
    for start in sorted(adjacency):
        while adjacency[start]:
            v = start
            while True:
                stack = adjacency[v]
                while stack and used[stack[-1]]:
                    stack.pop()
                if not stack:
                    break
                e = stack.pop()
                used[e] = True
                a, b = edges[e]
                w = b if a == v else a
                oriented[e] = (w, v)  # walking v -> w: w hosts v
                v = w
            while adjacency[start] and used[adjacency[start][-1]]:
                adjacency[start].pop()
    return oriented[: len(pairs)]


def assign_days(round_of_game: np.ndarray, pairs: np.ndarray, n_rounds: int, days: list[dt.date],
                n_teams: int, rng: np.random.Generator) -> np.ndarray:
    """Index into ``days`` for every game: near its round's target, one game a day per team, no 3 in 3."""
    n_days = len(days)
    ordinals = np.array([d.toordinal() for d in days])
    spacing = (n_days - 1) / max(n_rounds - 1, 1)  # the first round on opening night, the last on the last day
    target = (round_of_game + rng.uniform(-JITTER, JITTER, len(pairs))) * spacing
    plays = np.zeros((n_teams, n_days), dtype=bool)
    b2b = np.zeros(n_teams, dtype=np.int64)
    quota = MAX_BACK_TO_BACKS * n_rounds / FULL_SEASON_GAMES
    day_index = {o: i for i, o in enumerate(ordinals)}

    def neighbours(team: int, i: int) -> int:
        """Games the team plays the calendar day before and after day i."""
        o = ordinals[i]
        return sum(plays[team, day_index[o + d]] for d in (-1, 1) if o + d in day_index)

    def ok(team: int, i: int, strict: bool) -> bool:
        if plays[team, i]:
            return False
        o = ordinals[i]
        # would the team play three calendar days in a row?
        near = [ordinals[j] for j in range(max(0, i - 2), min(n_days, i + 3)) if j != i and plays[team, j]]
        cal = sorted([o] + [x for x in near if abs(x - o) <= 2])
        if any(cal[k + 2] - cal[k] == 2 for k in range(len(cal) - 2)):
            return False
        return not (strict and b2b[team] >= quota and neighbours(team, i))

    day_of_game = np.empty(len(pairs), dtype=np.int64)
    for g in np.argsort(target, kind="stable"):
        a, b = pairs[g]
        base = int(round(float(np.clip(target[g], 0, n_days - 1))))
        chosen = None
        for strict, reach in ((True, 3), (False, n_days)):  # first near its target without a b2b over quota
            for step in range(2 * reach + 1):
                i = base + (step + 1) // 2 * (1 if step % 2 else -1)
                if 0 <= i < n_days and ok(a, i, strict) and ok(b, i, strict):
                    chosen = i
                    break
            if chosen is not None:
                break
        if chosen is None:  # pragma: no cover - the calendar has at least games_per_team + 1 days
            raise RuntimeError("could not fit the schedule into the calendar")
        b2b[a] += neighbours(a, chosen)
        b2b[b] += neighbours(b, chosen)
        plays[a, chosen] = plays[b, chosen] = True
        day_of_game[g] = chosen
    return day_of_game


def tipoffs(dates: np.ndarray, rng: np.random.Generator) -> pd.DatetimeIndex:
    """Evening tip-off (7:00-10:30 pm Eastern on the game date) as UTC timestamps."""
    minutes = rng.choice(TIPOFF_MINUTES_ET, size=len(dates), p=TIPOFF_WEIGHTS)
    local = pd.DatetimeIndex(dates.astype("datetime64[ns]")) + pd.to_timedelta(minutes, unit="min")
    return local.tz_localize(EASTERN).tz_convert("UTC")


def build(season: str, n_teams: int, games_per_team: int, start: dt.date | None,
          rng: np.random.Generator) -> Schedule:
    days = game_days(season, games_per_team, start)
    matchings = rounds(n_teams, games_per_team, rng)
    n_rounds, half, _ = matchings.shape
    pairs = matchings.reshape(-1, 2)
    round_of_game = np.repeat(np.arange(n_rounds), half)
    oriented = balanced_home(pairs, n_teams, rng)
    day_idx = assign_days(round_of_game, pairs, n_rounds, days, n_teams, rng)
    dates = np.array(days, dtype="datetime64[D]")[day_idx]
    tip = tipoffs(dates, rng)
    order = np.lexsort((oriented[:, 0], tip.asi8))
    yy = season_start_year(season) % 100
    ids = np.array([f"002{yy:02d}{i + 1:05d}" for i in range(len(order))])
    return Schedule(
        game_id=ids,
        game_date=dates[order],
        home=oriented[order, 0],
        away=oriented[order, 1],
        tipoff_at=tip[order],
    )
