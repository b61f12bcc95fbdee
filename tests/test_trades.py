"""Trades inside a season: each derived feature stays with the right team.

On a generated league with trades (warehouse/sample_league.py: slot-for-slot swaps before a
deadline), for every traded player:
- his own rolling features (points, minutes and usage windows, every market's stat form,
  games_played_season, season usage per stint) are brute-force recomputed over his played
  games for both teams;
- his rows and their team-level features (team, opponent, home, rest, the opponent's
  defence and allowances, the availability counts) are his old team's up to his first
  game for the new team and the new team's from it on, never one the other way round;
- the prediction of that first game (its box score not in yet) has no row for the new
  team, as upcoming_player_game_context.sql says, and the training row it gets later
  reads nothing of the game itself.
"""
from __future__ import annotations

import datetime as dt
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from nbafs import paths
from tests.test_availability import assert_rows_match_oracle
from tests.test_stat_form import _recompute
from transformations.runner import run as transform
from warehouse import sample_season, storage
from warehouse.schema import (BDL_PLAYER_BOXSCORES, PLAYER_AVAILABILITY, PLAYER_COMPOSITE_FACTORS, PLAYER_GAME_SUMMARY,
                              PLAYER_STAT_FORM, SCHEDULE, TEAM_BOXSCORES, UPCOMING_PLAYER_GAME_CONTEXT)
from warehouse.validate import conform

LEAGUE = dict(seed=0, n_teams=10, games_per_team=40)  # two trades, three players each way
KEY = ["game_id", "player_lookup"]


def read(table) -> pd.DataFrame:
    return storage.read_table(table).to_pandas()


@pytest.fixture(scope="module")
def league_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("trades-league")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        sample_season.generate(**LEAGUE)
        transform(progress=None)
    return d


@pytest.fixture
def league(league_dir, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(league_dir))
    return league_dir


def stints(box: pd.DataFrame) -> pd.DataFrame:
    """Per traded player: old and new team, his last game date for the old one, the first for the new."""
    rows = box.sort_values("game_date")
    n = rows.groupby("player_lookup").team_abbr.nunique()
    rows = rows[rows.player_lookup.isin(n[n == 2].index)]
    out = rows.groupby("player_lookup").agg(old=("team_abbr", "first"), new=("team_abbr", "last"))
    out["last_old"] = [rows[(rows.player_lookup == p) & (rows.team_abbr == t)].game_date.max() for p, t in out.old.items()]
    out["first_new"] = [rows[(rows.player_lookup == p) & (rows.team_abbr == t)].game_date.min() for p, t in out.new.items()]
    return out


def played_before(summary: pd.DataFrame, player: str, season: str, day) -> pd.DataFrame:
    """His played games this season before ``day``, for any team, latest first."""
    rows = summary[(summary.player_lookup == player) & (summary.season == season) & (summary.game_date < day)
                   & (summary.minutes > 0)]
    return rows.sort_values("game_date", ascending=False)


def _close(got, want) -> bool:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None or pd.isna(got)
    return got is not None and not pd.isna(got) and math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-9)


def _mean(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.mean()) if len(values) else None


def test_the_league_has_trades_of_players_who_play(league):
    s = stints(read(BDL_PLAYER_BOXSCORES))
    assert len(s) >= 4 and (s.last_old < s.first_new).all()
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    rotation = ctx[ctx.player_lookup.isin(s.index) & (ctx.minutes_avg_last_7 >= 15)]
    assert rotation.player_lookup.nunique() >= 2  # not only deep-bench players change teams


def test_his_own_rolling_features_follow_him_across_the_trade(league):
    summary, ctx = read(PLAYER_GAME_SUMMARY), read(UPCOMING_PLAYER_GAME_CONTEXT)
    s = stints(summary)
    rows = ctx[ctx.player_lookup.isin(s.index)]
    spanning = 0
    for r in rows.itertuples():
        prior = played_before(summary, r.player_lookup, r.season, r.game_date)
        assert r.games_played_season == len(prior), r
        assert _close(r.points_avg_last_5, _mean(prior.points.head(5))), r
        assert _close(r.points_avg_last_10, _mean(prior.points.head(10))), r
        assert _close(r.minutes_avg_last_7, _mean(prior.minutes.head(7))), r
        assert _close(r.avg_usage_rate_last_7_games, _mean(prior.usage_rate.head(7))), r
        assert _close(r.points_avg_season, _mean(prior.points)), r
        spanning += prior.head(5).team_abbr.nunique() == 2
    assert spanning >= 8  # rows for the new team whose last-5 window holds games for both teams

    # every market's form: the stat-form oracle over his games for either team
    form = read(PLAYER_STAT_FORM)
    bad = _recompute({"form": form, "context": ctx, "summary": summary}, form[form.player_lookup.isin(s.index)])
    assert not bad, f"{len(bad)} values differ from the brute force, e.g.\n" + "\n".join(bad[:10])

    # season usage: summed per stint, each team's pace over all its games so far (B-Ref's way)
    pcf, team_box = read(PLAYER_COMPOSITE_FACTORS), read(TEAM_BOXSCORES)
    two_stints = 0
    for r in pcf[pcf.player_lookup.isin(s.index)].itertuples():
        prior = played_before(summary, r.player_lookup, r.season, r.game_date)
        if prior.empty:
            assert pd.isna(r.season_usage_rate)
            continue
        plays = weighted = 0.0
        for team, stint in prior.groupby("team_abbr"):
            tt = team_box[(team_box.team_abbr == team) & (team_box.game_date < r.game_date)]
            pace = (tt.fga + 0.44 * tt.fta + tt.turnovers).sum() / (tt.minutes.sum() / 5)
            plays += (stint.fga + 0.44 * stint.fta + stint.turnovers).sum()
            weighted += stint.minutes.sum() * pace
        assert r.season_usage_rate == pytest.approx(100 * plays / weighted), r
        two_stints += prior.team_abbr.nunique() == 2
    assert two_stints >= 10


def test_his_rows_and_team_features_switch_on_his_first_game_for_the_new_team(league):
    summary, ctx, sched = read(PLAYER_GAME_SUMMARY), read(UPCOMING_PLAYER_GAME_CONTEXT), read(SCHEDULE)
    team_box = read(TEAM_BOXSCORES)
    sides = pd.concat([
        sched.assign(team_abbr=sched.home_team_abbr, opp=sched.away_team_abbr, home=True),
        sched.assign(team_abbr=sched.away_team_abbr, opp=sched.home_team_abbr, home=False),
    ]).sort_values("game_date")
    sides["previous"] = sides.groupby(["team_abbr", "season"]).game_date.shift()
    sides = sides.set_index(["game_id", "team_abbr"])
    s = stints(summary)
    for player, t in s.iterrows():
        rows = ctx[ctx.player_lookup == player].sort_values("game_date")
        assert not rows.game_date.duplicated().any()
        before, after = rows[rows.game_date < t.first_new], rows[rows.game_date >= t.first_new]
        assert set(before.team_abbr) == {t.old} and set(after.team_abbr) == {t.new}, player
        # every game of his team of the day from his first row: the old team's up to (not on) his first
        # day for the new one, the new team's from then on
        first_row = summary[summary.player_lookup == player].game_date.min()
        old_games = sides.xs(t.old, level="team_abbr")
        new_games = sides.xs(t.new, level="team_abbr")
        old_games = old_games[(old_games.game_date >= first_row) & (old_games.game_date < t.first_new)]
        assert set(before.game_id) == set(old_games.index), player
        assert set(after.game_id) == set(new_games[new_games.game_date >= t.first_new].index), player
        # the old team's games between his last one for it and his first for the new: listed there, not played
        gap = before[before.game_date > t.last_old]
        assert not set(zip(gap.game_id, gap.player_lookup)) & set(zip(summary.game_id, summary.player_lookup))
        for r in rows.itertuples():
            g = sides.loc[(r.game_id, r.team_abbr)]
            assert (r.opponent_team_abbr, bool(r.is_home)) == (g.opp, bool(g.home)), r
            rest = None if pd.isna(g.previous) else (r.game_date - g.previous).days - 1
            assert (pd.isna(r.days_rest) and rest is None) or r.days_rest == rest, r
            scored = team_box[(team_box.opponent_team_abbr == r.opponent_team_abbr) & (team_box.game_date < r.game_date)]
            poss = (scored.fga + 0.44 * scored.fta - scored.oreb + scored.turnovers).sum()
            assert _close(r.opponent_def_rating, 100 * scored.points.sum() / poss if len(scored) else None), r

    # the stat form and availability rows are the context's rows: same team, same opponent
    keyed = ctx.set_index(KEY)[["team_abbr", "opponent_team_abbr"]]
    form, avail = read(PLAYER_STAT_FORM).set_index(KEY), read(PLAYER_AVAILABILITY).set_index(KEY)
    mine = keyed[keyed.index.get_level_values("player_lookup").isin(s.index)]
    pd.testing.assert_frame_equal(form.loc[mine.index, mine.columns], mine)
    pd.testing.assert_frame_equal(avail.loc[mine.index, ["team_abbr"]], mine[["team_abbr"]])

    # availability of the traded players and of both teams' rows around the trades: the brute force
    teams = set(s.old) | set(s.new)
    near = avail.reset_index()
    near = near[near.team_abbr.isin(teams) & (near.game_date >= s.last_old.min() - dt.timedelta(days=6))
                & (near.game_date <= s.first_new.max() + dt.timedelta(days=12))]
    assert_rows_match_oracle(near)
    firsts = near.merge(s.reset_index(), left_on=["player_lookup", "game_date"], right_on=["player_lookup", "first_new"])
    assert len(firsts) == len(s) and firsts[["player_missed_last_game", "player_games_missed_last_5"]].isna().all().all()


def _rewrite(tables, keep) -> None:
    """Write ``keep(table, rows)`` in place of each raw table's rows (every partition replaced)."""
    for t in tables:
        rows = read(t)
        storage.write_partitions(t, conform(t, keep(t, rows).reset_index(drop=True), source="tests/test_trades.py"),
                                 replace_dates=sorted(set(rows.game_date)))


def test_his_first_game_for_the_new_team_reads_nothing_of_that_game_and_is_not_predicted_before_it(
        league_dir, tmp_path, monkeypatch):
    d = tmp_path / "league"
    shutil.copytree(league_dir, d)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    summary, ctx = read(PLAYER_GAME_SUMMARY), read(UPCOMING_PLAYER_GAME_CONTEXT)
    s = stints(summary)
    # a player who played his first game for the new team on a day his old team played too
    player, t = next((p, t) for p, t in s.iterrows()
                     if summary[(summary.player_lookup == p) & (summary.game_date == t.first_new)].minutes.gt(0).all()
                     and ((summary.game_date == t.first_new) & (summary.team_abbr == t.old)).any())
    day = t.first_new
    tables = (PLAYER_GAME_SUMMARY, UPCOMING_PLAYER_GAME_CONTEXT, PLAYER_STAT_FORM, PLAYER_COMPOSITE_FACTORS,
              PLAYER_AVAILABILITY)
    trained = {tb.fqn: read(tb).set_index(KEY).loc[[(ctx[(ctx.player_lookup == player) & (ctx.game_date == day)]
                                                     .game_id.iloc[0], player)]] for tb in tables[1:]}
    assert trained[UPCOMING_PLAYER_GAME_CONTEXT.fqn].team_abbr.iloc[0] == t.new

    # the games of his first day for the new team and later, played otherwise: his row there is as it was
    rng = np.random.default_rng(5)

    def changed(table, rows):
        late = rows.game_date >= day
        rows.loc[late, "points"] = rows.loc[late, "points"] + rng.integers(1, 9, late.sum())
        rows.loc[late, "fga"] = rows.loc[late, "fga"] + rng.integers(1, 5, late.sum())
        if table is BDL_PLAYER_BOXSCORES:
            rows.loc[late, "minutes"] = rng.permutation(rows.loc[late, "minutes"].to_numpy())
        return rows

    _rewrite((BDL_PLAYER_BOXSCORES, TEAM_BOXSCORES), changed)
    transform(progress=None)
    for tb in tables[1:]:
        now = read(tb).set_index(KEY).loc[trained[tb.fqn].index]
        pd.testing.assert_frame_equal(now, trained[tb.fqn], obj=tb.fqn)

    # the prediction of that day (its box scores not in): no row for the new team, the old one's if it plays
    _rewrite((BDL_PLAYER_BOXSCORES, TEAM_BOXSCORES), lambda table, rows: rows[rows.game_date < day])
    transform(progress=None)
    predicted = read(UPCOMING_PLAYER_GAME_CONTEXT)
    his = predicted[(predicted.player_lookup == player) & (predicted.game_date == day)]
    assert list(his.team_abbr) == [t.old]
    # his own features there are the training row's (the same earlier games), the team's are the old team's
    own = ["games_played_season", "points_avg_last_5", "points_avg_last_10", "minutes_avg_last_7",
           "avg_usage_rate_last_7_games", "points_avg_season"]
    want = trained[UPCOMING_PLAYER_GAME_CONTEXT.fqn].iloc[0]
    pd.testing.assert_series_equal(his[own].iloc[0].astype(float), want[own].astype(float), check_names=False)
    assert his.opponent_team_abbr.iloc[0] != want.opponent_team_abbr
