"""The phase transformations on a tiny season, checked against brute-force pandas recomputations.

What is protected: usage_rate is never missing (or 0) for a played game and NULL for a
DNP; rolling windows count only played games and never include the game itself or a
later one; season usage follows Basketball-Reference (team totals over all the team's
games, per stint for a traded player); the roster rule; schedule context; the line
consensus; time columns (event_timestamp per nbafs.timeline, created_at from the
inputs, never the run's clock).
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
from warehouse import storage
from warehouse.schema import (
    BDL_PLAYER_BOXSCORES,
    DERIVED_TABLES,
    ODDS_API_PLAYER_POINTS_PROPS,
    PLAYER_COMPOSITE_FACTORS,
    PLAYER_GAME_SUMMARY,
    PLAYER_POINTS_LINE_CONSENSUS,
    SCHEDULE,
    TEAM_BOXSCORES,
    UPCOMING_PLAYER_GAME_CONTEXT,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        frames = tiny_season.generate(seed=7)
        report = run(progress=None)
    return d, frames, report


@pytest.fixture
def tiny(built, monkeypatch):
    """(raw frames, report) with NBAFS_DATA_DIR on the transformed tiny season (read only)."""
    d, frames, report = built
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    return frames, report


def read(table) -> pd.DataFrame:
    return storage.read_table(table).to_pandas()


def box(frames) -> pd.DataFrame:
    return frames[BDL_PLAYER_BOXSCORES.fqn]


def teams(frames) -> pd.DataFrame:
    return frames[TEAM_BOXSCORES.fqn]


# --- player_game_summary ----------------------------------------------------------------


def test_usage_rate_present_for_every_played_game_and_null_for_dnp(tiny):
    pgs = read(PLAYER_GAME_SUMMARY)
    played = pgs[pgs.minutes > 0]
    assert len(played) and played.usage_rate.notna().all()
    assert (played.usage_rate > 0).mean() > 0.95  # 0 only for a player with no FGA, FTA or TOV
    dnp = pgs[pgs.minutes == 0]
    assert len(dnp) and dnp.usage_rate.isna().all()


def test_usage_rate_is_the_bref_formula_with_team_totals(tiny):
    frames, _ = tiny
    pgs = read(PLAYER_GAME_SUMMARY).set_index(["game_id", "player_lookup"])
    b = box(frames).merge(teams(frames), on=["game_id", "team_abbr"], suffixes=("", "_team"))
    b = b[b.minutes > 0]
    expected = (
        100 * (b.fga + 0.44 * b.fta + b.turnovers) * (b.minutes_team / 5)
        / (b.minutes * (b.fga_team + 0.44 * b.fta_team + b.turnovers_team))
    )
    got = pgs.loc[list(zip(b.game_id, b.player_lookup)), "usage_rate"].to_numpy()
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-9)
    assert len(pgs) == len(box(frames))


def test_summary_time_columns_follow_the_timeline(tiny):
    pgs = read(PLAYER_GAME_SUMMARY)
    for r in pgs.sample(20, random_state=1).itertuples():
        assert r.event_timestamp.to_pydatetime() == timeline.box_score_known_at(r.game_date)
        assert r.season == timeline.season_of(r.game_date)
    # created_at comes from the inputs (box score written at 04:00 the next day), not the run.
    assert (pgs.created_at == pd.to_datetime(pgs.game_date + pd.Timedelta(days=1)).dt.tz_localize("UTC") + pd.Timedelta(hours=4)).all()


# --- upcoming_player_game_context: brute force ------------------------------------------------


def _played_before(frames, player: str, day: dt.date) -> pd.DataFrame:
    b = box(frames)
    rows = b[(b.player_lookup == player) & (b.game_date < day) & (b.minutes > 0)]
    rows = rows.loc[rows.game_date.map(timeline.season_of) == timeline.season_of(day)]
    team = teams(frames)
    rows = rows.merge(team, on=["game_id", "team_abbr"], suffixes=("", "_team"))
    rows["usage"] = (
        100 * (rows.fga + 0.44 * rows.fta + rows.turnovers) * (rows.minutes_team / 5)
        / (rows.minutes * (rows.fga_team + 0.44 * rows.fta_team + rows.turnovers_team))
    )
    return rows.sort_values("game_date", ascending=False)


def _mean(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.mean()) if len(values) else None


def _close(got, expected) -> bool:
    if expected is None:
        return got is None or pd.isna(got)
    return got is not None and not pd.isna(got) and math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)


def test_rolling_features_match_brute_force_and_never_include_the_game(tiny):
    frames, _ = tiny
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    sample = ctx.sample(120, random_state=3)
    for r in sample.itertuples():
        prior = _played_before(frames, r.player_lookup, r.game_date)
        assert (prior.game_date < r.game_date).all()
        assert r.games_played_season == len(prior)
        assert _close(r.points_avg_last_5, _mean(prior.points.head(5))), r
        assert _close(r.points_avg_last_10, _mean(prior.points.head(10))), r
        assert _close(r.minutes_avg_last_7, _mean(prior.minutes.head(7))), r
        assert _close(r.avg_usage_rate_last_7_games, _mean(prior.usage.head(7))), r
        assert _close(r.points_avg_season, _mean(prior.points)), r


def test_lost_points_are_left_out_of_the_mean_not_counted_as_zero(tiny):
    frames, _ = tiny
    player, nth = tiny_season.LOST_POINTS
    b = box(frames)
    lost = b[(b.player_lookup == player) & b.points.isna()].iloc[0]
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    after = ctx[(ctx.player_lookup == player) & (ctx.game_date > lost.game_date)].sort_values("game_date").iloc[0]
    prior = _played_before(frames, player, after.game_date)
    assert after.points_avg_last_5 == pytest.approx(prior.points.head(5).dropna().mean())
    assert after.points_avg_last_5 != pytest.approx(prior.points.head(5).fillna(0).mean())


def test_avg_usage_last_7_present_for_every_player_with_an_earlier_game(tiny):
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    with_history = ctx[ctx.games_played_season > 0]
    assert len(with_history) > 0.8 * len(ctx)
    assert with_history.avg_usage_rate_last_7_games.notna().all()
    assert ctx[ctx.games_played_season == 0].avg_usage_rate_last_7_games.isna().all()


def _expected_roster(frames) -> set[tuple[str, str, str]]:
    """(game_id, team, player) by the documented rule, computed row by row."""
    sched = frames[SCHEDULE.fqn]
    b = box(frames).sort_values("game_date")
    out = set()
    for g in sched.itertuples():
        for team in (g.home_team_abbr, g.away_team_abbr):
            in_box = b[(b.game_id == g.game_id) & (b.team_abbr == team)].player_lookup
            out |= {(g.game_id, team, p) for p in in_box}
            earlier = b[(b.game_date < g.game_date)]
            last = earlier.groupby("player_lookup").tail(1)
            playing_today = set(b[b.game_date == g.game_date].player_lookup)
            for p in last[last.team_abbr == team].player_lookup:
                if p not in playing_today:
                    out.add((g.game_id, team, p))
    return out


def test_context_rows_follow_the_roster_rule(tiny):
    frames, _ = tiny
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    got = set(zip(ctx.game_id, ctx.team_abbr, ctx.player_lookup))
    assert got == _expected_roster(frames)
    # One row per player per date, even on the day a traded player changes teams.
    assert not ctx.duplicated(["player_lookup", "game_date"]).any()


def test_traded_player_moves_with_his_first_game_for_the_new_team(tiny):
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    rows = ctx[ctx.player_lookup == tiny_season.TRADED].sort_values("game_date")
    before = rows[rows.game_date < tiny_season.TRADE_DATE]
    after = rows[rows.game_date >= tiny_season.TRADE_DATE]
    assert set(before.team_abbr) == {"AAA"}
    assert set(after.team_abbr) == {"CCC"}


def test_future_scheduled_games_have_context_rows_built_from_earlier_games(tiny):
    frames, _ = tiny
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    played_games = set(box(frames).game_id)
    future = ctx[~ctx.game_id.isin(played_games)]
    sched = frames[SCHEDULE.fqn]
    assert set(future.game_id) == set(sched[~sched.game_id.isin(played_games)].game_id)
    assert len(future) and future.avg_usage_rate_last_7_games.notna().all()
    pcf = read(PLAYER_COMPOSITE_FACTORS)
    assert set(zip(pcf.game_id, pcf.player_lookup)) == set(zip(ctx.game_id, ctx.player_lookup))


def test_schedule_context(tiny):
    frames, _ = tiny
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    sched = frames[SCHEDULE.fqn]
    sides = pd.concat([
        sched.assign(team_abbr=sched.home_team_abbr, opp=sched.away_team_abbr, home=True),
        sched.assign(team_abbr=sched.away_team_abbr, opp=sched.home_team_abbr, home=False),
    ]).sort_values("game_date")
    sides["prev"] = sides.groupby("team_abbr").game_date.shift()
    merged = ctx.merge(sides, on=["game_id", "team_abbr"], suffixes=("", "_s"))
    assert len(merged) == len(ctx)
    assert (merged.is_home == merged.home).all() and (merged.opponent_team_abbr == merged.opp).all()
    first = merged.prev.isna()
    assert merged[first].days_rest.isna().all() and merged[first].is_back_to_back.isna().all()
    rest = merged[~first]
    expected = [(d - p).days - 1 for d, p in zip(rest.game_date, rest.prev)]
    assert list(rest.days_rest) == expected
    assert list(rest.is_back_to_back) == [e == 0 for e in expected]
    assert {0, 1} <= set(expected)  # the fixture has both back-to-backs and rest days


def test_opponent_def_rating_is_points_allowed_per_100_opponent_possessions_before_the_game(tiny):
    frames, _ = tiny
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    t = teams(frames)
    for r in ctx.drop_duplicates(["game_id", "team_abbr"]).sample(40, random_state=5).itertuples():
        scored = t[(t.opponent_team_abbr == r.opponent_team_abbr) & (t.game_date < r.game_date)]
        if scored.empty:
            assert pd.isna(r.opponent_def_rating)
            continue
        poss = (scored.fga + 0.44 * scored.fta - scored.oreb + scored.turnovers).sum()
        assert r.opponent_def_rating == pytest.approx(100 * scored.points.sum() / poss)


def test_context_time_columns(tiny):
    frames, _ = tiny
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    for r in ctx.sample(30, random_state=2).itertuples():
        assert r.event_timestamp.to_pydatetime() == timeline.upcoming_known_at(r.game_date)
        # Built only from earlier games: nothing it used was written after 06:00 on game day.
        assert r.created_at <= r.event_timestamp


# --- player_composite_factors ---------------------------------------------------------------


def test_season_usage_rate_uses_all_team_games_and_sums_a_traded_player_per_stint(tiny):
    frames, _ = tiny
    pcf = read(PLAYER_COMPOSITE_FACTORS)
    t = teams(frames)
    picks = pd.concat([
        pcf[pcf.player_lookup == tiny_season.TRADED].tail(5),  # after the trade: two stints
        pcf.sample(40, random_state=11),
    ])
    for r in picks.itertuples():
        prior = _played_before(frames, r.player_lookup, r.game_date)
        if prior.empty:
            assert pd.isna(r.season_usage_rate)
            continue
        plays, weighted = 0.0, 0.0
        for team, stint in prior.groupby("team_abbr"):
            tt = t[(t.team_abbr == team) & (t.game_date < r.game_date)]  # ALL the team's games so far
            pace = (tt.fga + 0.44 * tt.fta + tt.turnovers).sum() / (tt.minutes.sum() / 5)
            plays += (stint.fga + 0.44 * stint.fta + stint.turnovers).sum()
            weighted += stint.minutes.sum() * pace
        assert r.season_usage_rate == pytest.approx(100 * plays / weighted), r
    traded = pcf[pcf.player_lookup == tiny_season.TRADED].iloc[-1]
    assert _played_before(frames, traded.player_lookup, traded.game_date).team_abbr.nunique() == 2


def test_usage_spike_and_form_ratios_are_the_declared_ratios(tiny):
    ctx = read(UPCOMING_PLAYER_GAME_CONTEXT)
    pcf = read(PLAYER_COMPOSITE_FACTORS)
    m = pcf.merge(ctx, on=["game_id", "player_lookup"], suffixes=("", "_ctx"))
    assert len(m) == len(pcf) == len(ctx)
    both = m.avg_usage_rate_last_7_games.notna() & m.season_usage_rate.notna()
    np.testing.assert_allclose(m[both].usage_spike_score, m[both].avg_usage_rate_last_7_games / m[both].season_usage_rate)
    assert m[~both].usage_spike_score.isna().all()
    assert (m[both].usage_spike_score > 0).all()
    assert 0.8 < m[both].usage_spike_score.mean() < 1.2
    ok = m.points_avg_last_5.notna() & (m.points_avg_season > 0)
    np.testing.assert_allclose(m[ok].points_form_ratio, m[ok].points_avg_last_5 / m[ok].points_avg_season)
    assert m[~ok].points_form_ratio.isna().all()
    assert (m.games_played_season == m.games_played_season_ctx).all()


def test_minutes_form_ratio(tiny):
    frames, _ = tiny
    pcf = read(PLAYER_COMPOSITE_FACTORS).merge(
        read(UPCOMING_PLAYER_GAME_CONTEXT), on=["game_id", "game_date", "player_lookup"], suffixes=("", "_ctx"),
    )
    for r in pcf.sample(30, random_state=4).itertuples():
        prior = _played_before(frames, r.player_lookup, r.game_date)
        if prior.empty:
            assert pd.isna(r.minutes_form_ratio)
        else:
            assert r.minutes_form_ratio == pytest.approx(r.minutes_avg_last_7 / prior.minutes.mean())


# --- player_points_line_consensus ----------------------------------------------------------------


def test_line_consensus_is_the_median_across_books_per_snapshot(tiny):
    frames, _ = tiny
    odds = frames[ODDS_API_PLAYER_POINTS_PROPS.fqn]
    expected = odds.groupby(["game_id", "player_lookup", "snapshot_at"]).agg(
        line=("points_line", "median"), books=("bookmaker", "nunique"), created=("created_at", "max"),
    ).reset_index()
    got = read(PLAYER_POINTS_LINE_CONSENSUS)
    m = got.merge(expected, on=["game_id", "player_lookup", "snapshot_at"], how="outer", indicator=True)
    assert (m._merge == "both").all()
    np.testing.assert_allclose(m.points_line, m.line)
    assert (m.books_count == m.books).all() and {2, 3} <= set(m.books_count)
    assert (m.event_timestamp == m.snapshot_at).all()
    assert (m.created_at == m.created).all()


# --- reruns, sub-ranges, late corrections --------------------------------------------------------


def _snapshot() -> dict[str, pd.DataFrame]:
    out = {}
    for t in DERIVED_TABLES:
        df = read(t)
        out[t.fqn] = df.sort_values(list(t.grain)).reset_index(drop=True)
    return out


def test_rerun_is_idempotent_and_sub_range_equals_full_run(data_dir):
    tiny_season.generate(seed=3)
    run(progress=None)
    full = _snapshot()
    run(progress=None)
    again = _snapshot()
    for fqn in full:
        pd.testing.assert_frame_equal(full[fqn], again[fqn])
    start, end = dt.date(2025, 11, 3), dt.date(2025, 11, 12)
    report = run(start, end, progress=None)
    assert report.start == start and report.rows(PLAYER_GAME_SUMMARY.fqn) > 0
    sub = _snapshot()
    for fqn in full:
        pd.testing.assert_frame_equal(full[fqn], sub[fqn])


def test_sub_range_without_earlier_summary_rows_is_refused(data_dir):
    from nbafs.errors import UserError

    tiny_season.generate(seed=3)
    with pytest.raises(UserError, match=r"player_game_summary has no rows .* before --start 2025-11-03"):
        run(dt.date(2025, 11, 3), dt.date(2025, 11, 12), progress=None)
    assert storage.partitions(UPCOMING_PLAYER_GAME_CONTEXT) == []


def test_late_correction_stays_late_in_created_at(data_dir):
    frames = tiny_season.generate(seed=3)
    b = box(frames)
    day = dt.date(2025, 11, 1)
    late = dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)
    corrected = b[b.game_date == day].assign(created_at=late)
    from warehouse.validate import conform

    storage.write_partitions(BDL_PLAYER_BOXSCORES, conform(BDL_PLAYER_BOXSCORES, corrected))
    run(progress=None)
    pgs, ctx = read(PLAYER_GAME_SUMMARY), read(UPCOMING_PLAYER_GAME_CONTEXT)
    assert (pgs[pgs.game_date == day].created_at == late).all()
    assert (pgs[pgs.game_date != day].created_at < late).all()
    # Context rows before the corrected game do not use it; later rows of its players do.
    assert (ctx[ctx.game_date <= day].created_at < late).all()
    players = set(corrected[corrected.minutes > 0].player_lookup)
    later = ctx[(ctx.game_date > day) & ctx.player_lookup.isin(players)]
    assert len(later) and (later.created_at == late).all()
