"""nba_analytics.player_stat_form against a brute-force pandas recompute of every column.

What is protected: each market stat's windows (means over the last 5 / 10 / season's
played games, per-minute rate and sample standard deviation over the last 10) count only
played games (minutes > 0) of the same season strictly before the game, and leave a NULL
value out (out of both sums for a rate); pra is NULL when any of its parts is; the
opponent's allowance is the mean per-game total of the teams facing it before the game,
without the games whose total is unknown; minutes form; games_played_season, the time
columns (created_at from the rows used, never the clock); the table has exactly the rows
of upcoming_player_game_context; a sub-range run gives the full run's values.

Two warehouses: a small generated league over two seasons (players return in the second,
so the season limit is exercised) and tests/tiny_season.py (a traded player, a lost points
total, DNP rows, future games).
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from nbafs import paths, timeline
from tests import tiny_season
from transformations.runner import run
from warehouse import sample_season, storage
from warehouse.markets import STATS
from warehouse.schema import BDL_PLAYER_BOXSCORES, PLAYER_GAME_SUMMARY, PLAYER_STAT_FORM, UPCOMING_PLAYER_GAME_CONTEXT

ROW_KEYS = ["game_id", "game_date", "player_lookup", "team_abbr", "opponent_team_abbr", "season", "games_played_season"]
SAMPLE_ROWS = 200
LOST = {"rebounds": ("bbb_p2", 4), "fg3m": ("ccc_p1", 6), "assists": (tiny_season.TRADED, 15)}


def _read(table) -> pd.DataFrame:
    return storage.read_table(table).to_pandas()


def _tables() -> dict[str, pd.DataFrame]:
    return {"form": _read(PLAYER_STAT_FORM), "context": _read(UPCOMING_PLAYER_GAME_CONTEXT),
            "summary": _read(PLAYER_GAME_SUMMARY)}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[str, pd.DataFrame]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(tmp_path_factory.mktemp("stat-form-sample")))
        sample_season.generate("2024-25", seed=3, n_teams=6, games_per_team=8)
        sample_season.generate("2025-26", seed=3, n_teams=6, games_per_team=20)
        run(progress=None)
        return _tables()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, pd.DataFrame]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(tmp_path_factory.mktemp("stat-form-tiny")))
        frames = tiny_season.build(seed=7)
        box = frames[BDL_PLAYER_BOXSCORES.fqn]
        for col, (player, nth) in LOST.items():  # more lost totals than the points one: every stat's NULL rule
            box.loc[box.index[box.player_lookup == player][nth - 1], col] = None
        tiny_season.write(frames)
        run(progress=None)
        return _tables()


# --- the oracle ------------------------------------------------------------------------------


class Oracle:
    """Every column of a player_stat_form row, recomputed from player_game_summary by brute force."""

    def __init__(self, summary: pd.DataFrame):
        played = summary[summary.minutes > 0].copy()
        played["threes_made"] = played.fg3m
        played["pra"] = played.points + played.rebounds + played.assists  # NaN when any part is
        played = played.sort_values("game_date", ascending=False)
        self.by_player = {p: g for p, g in played.groupby("player_lookup")}
        # one row per (defence, game): each stat's total over the played rows of the team facing it, NaN if one is lost
        games = played.groupby(["opponent_team_abbr", "season", "game_date", "game_id"]).agg(
            created_at=("created_at", "max"),
            **{s: (s, "sum") for s in STATS},
            **{f"{s}_lost": (s, lambda v: v.isna().any()) for s in STATS},
        ).reset_index()
        for s in STATS:
            games[s] = games[s].where(~games.pop(f"{s}_lost"))
        self.by_defence = {d: g for d, g in games.groupby("opponent_team_abbr")}

    def prior(self, player: str, season: str, day: dt.date) -> pd.DataFrame:
        """The player's played games this season before ``day``, latest first."""
        g = self.by_player.get(player)
        if g is None:
            return pd.DataFrame(columns=["game_date", "minutes", "created_at", *STATS])
        return g[(g.season == season) & (g.game_date < day)]

    def allowed(self, defence: str, season: str, day: dt.date) -> pd.DataFrame:
        """Per earlier game of ``defence`` this season: each stat's total of the team facing it (NaN if one is lost)."""
        g = self.by_defence.get(defence)
        if g is None:
            return pd.DataFrame(columns=["created_at", *STATS])
        return g[(g.season == season) & (g.game_date < day)]

    def expected(self, row) -> dict[str, object]:
        prior = self.prior(row.player_lookup, row.season, row.game_date)
        allowed = self.allowed(row.opponent_team_abbr, row.season, row.game_date)
        minutes = prior.minutes.to_numpy(float)
        out: dict[str, object] = {}
        for stat in STATS:
            v = prior[stat].to_numpy(float)  # latest first; NaN = lost
            if stat != "points":
                out[f"{stat}_avg_last_5"] = _mean(v[:5])
                out[f"{stat}_avg_last_10"] = _mean(v[:10])
                out[f"{stat}_avg_season"] = _mean(v)
            known = ~np.isnan(v[:10])
            out[f"{stat}_per_minute_last_10"] = (
                float(v[:10][known].sum() / minutes[:10][known].sum()) if known.any() else None
            )
            out[f"{stat}_std_last_10"] = _std(v[:10])
            out[f"opponent_{stat}_allowed_avg_season"] = _mean(allowed[stat].to_numpy(float))
        out["minutes_avg_last_3"] = _mean(minutes[:3])
        out["minutes_std_last_10"] = _std(minutes[:10])
        out["games_played_season"] = len(prior)
        out["event_timestamp"] = pd.Timestamp(timeline.upcoming_known_at(row.game_date))
        out["created_at"] = max([row.context_created_at, *prior.created_at, *allowed.created_at])
        return out


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None


def _std(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.std(ddof=1)) if len(values) >= 2 else None


def _same(got, want) -> bool:
    if want is None:
        return got is None or pd.isna(got)
    if got is None or pd.isna(got):
        return False
    if isinstance(want, pd.Timestamp):
        return pd.Timestamp(got) == want
    return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-9)


def _recompute(tables: dict[str, pd.DataFrame], rows: pd.DataFrame) -> list[str]:
    """Mismatches (row, column, got, expected) over every column of ``rows`` but the keys."""
    oracle = Oracle(tables["summary"])
    ctx = tables["context"].set_index(["game_id", "player_lookup"]).created_at.rename("context_created_at")
    rows = rows.join(ctx, on=["game_id", "player_lookup"])
    checked = [c for c in PLAYER_STAT_FORM.column_names if c not in ROW_KEYS] + ["games_played_season"]
    bad = []
    for row in rows.itertuples():
        want = oracle.expected(row)
        assert set(checked) <= set(want), f"the oracle misses {set(checked) - set(want)}"
        for col in checked:
            if not _same(getattr(row, col), want[col]):
                bad.append(f"{row.game_id} {row.player_lookup} {row.game_date} {col}: got {getattr(row, col)}, "
                           f"expected {want[col]}")
    return bad


# --- every column, brute force ------------------------------------------------------------------


def test_every_column_matches_brute_force_on_random_player_games_of_a_generated_league(sample):
    form = sample["form"]
    returning = set(form[form.season == "2024-25"].player_lookup)
    # the first game of the new season of the players who played the last one: their windows must not reach back
    first_new = form[(form.season == "2025-26") & (form.games_played_season == 0) & form.player_lookup.isin(returning)]
    rows = pd.concat([form.sample(SAMPLE_ROWS, random_state=11), first_new])
    assert len(first_new) > 20 and first_new.rebounds_avg_season.isna().all()
    bad = _recompute(sample, rows)
    assert not bad, f"{len(bad)} values differ from the brute force, e.g.\n" + "\n".join(bad[:10])


def test_every_column_matches_brute_force_on_the_tiny_season(tiny):
    bad = _recompute(tiny, tiny["form"])
    assert not bad, f"{len(bad)} values differ from the brute force, e.g.\n" + "\n".join(bad[:10])


@pytest.mark.parametrize("column", ["points", *LOST])
def test_a_lost_total_is_left_out_of_the_windows_and_the_allowance_not_counted_as_zero(tiny, column):
    """The brute force above covers these rows; this says they exist and what they show."""
    stat = {"fg3m": "threes_made"}.get(column, column)
    other = "assists" if stat == "rebounds" else "rebounds"
    form, summary = tiny["form"], tiny["summary"]
    oracle = Oracle(summary)
    (lost,) = summary[summary[column].isna()].itertuples()
    later = form[(form.player_lookup == lost.player_lookup) & (form.game_date > lost.game_date)]
    after = later.sort_values("game_date").iloc[0]
    prior = oracle.prior(lost.player_lookup, after.season, after.game_date).head(10)
    assert prior[stat].isna().sum() == 1 and len(prior) >= 3
    known = prior[prior[stat].notna()]
    # out of the rate's both sums (a zero would keep its minutes), out of the mean; pra lost with its parts
    assert after[f"{stat}_per_minute_last_10"] == pytest.approx(known[stat].sum() / known.minutes.sum())
    assert after[f"{stat}_per_minute_last_10"] != pytest.approx(prior[stat].sum() / prior.minutes.sum())
    assert after[f"{stat}_std_last_10"] == pytest.approx(known[stat].std(ddof=1))
    pra_known = known if stat in ("points", "rebounds", "assists") else prior
    assert prior.pra.isna().sum() == (pra_known is known)
    assert after.pra_per_minute_last_10 == pytest.approx(pra_known.pra.sum() / pra_known.minutes.sum())
    # the other stats keep the game
    assert after[f"{other}_per_minute_last_10"] == pytest.approx(prior[other].sum() / prior.minutes.sum())
    # the team facing the lost total's team: its allowance of that stat leaves the game out, of the other keeps it
    facing = form[(form.opponent_team_abbr == lost.opponent_team_abbr) & (form.game_date > lost.game_date)]
    first = facing.sort_values("game_date").iloc[0]
    allowed = oracle.allowed(lost.opponent_team_abbr, lost.season, first.game_date).set_index("game_id")
    assert pd.isna(allowed.at[lost.game_id, stat]) and not pd.isna(allowed.at[lost.game_id, other])
    assert first[f"opponent_{stat}_allowed_avg_season"] == pytest.approx(allowed[stat].dropna().mean())
    assert allowed[stat].notna().sum() >= 1


def test_traded_player_carries_his_form_and_dnp_rows_are_not_games(tiny):
    form, summary = tiny["form"], tiny["summary"]
    traded = form[form.player_lookup == tiny_season.TRADED].sort_values("game_date")
    assert {"AAA", "CCC"} <= set(traded.team_abbr)
    first_new = traded[traded.team_abbr == "CCC"].iloc[0]
    prior = Oracle(summary).prior(tiny_season.TRADED, first_new.season, first_new.game_date)
    assert set(prior.team_abbr) == {"AAA"} and first_new.games_played_season == len(prior) > 0
    assert first_new.rebounds_avg_season == pytest.approx(prior.rebounds.mean())
    dnp = summary[summary.minutes == 0]
    assert len(dnp) and (dnp.rebounds == 0).all()  # a DNP counted as a game would pull the means down
    future = form[~form.game_date.isin(set(summary.game_date))]
    assert len(future) and future.rebounds_avg_season.notna().any()


# --- rows and ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize("league", ["sample", "tiny"])
def test_rows_are_exactly_the_context_rows(league, request):
    tables = request.getfixturevalue(league)
    form, ctx = tables["form"], tables["context"]
    assert not form.duplicated(["game_id", "player_lookup"]).any()
    got = form[ROW_KEYS].sort_values(ROW_KEYS).reset_index(drop=True)
    want = ctx[ROW_KEYS].sort_values(ROW_KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert list(form.columns) == PLAYER_STAT_FORM.column_names


def test_a_sub_range_run_gives_the_full_run_values(data_dir):
    tiny_season.generate(seed=3)
    run(progress=None)
    full = _read(PLAYER_STAT_FORM).sort_values(["game_id", "player_lookup"]).reset_index(drop=True)
    report = run(dt.date(2025, 11, 3), dt.date(2025, 11, 12), progress=None)
    assert report.rows(PLAYER_STAT_FORM.fqn) > 0
    sub = _read(PLAYER_STAT_FORM).sort_values(["game_id", "player_lookup"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(full, sub)
