"""The game-day slate from the online store (serving/online.py) on a small generated season.

What these tests protect:
- every player of the day's games gets a row, ids first, then ``line_offered`` and the
  17 features in PLAYER_POINTS_V1 order (index 8 = usage_spike_score), NULL kept NULL;
- the slate's values are the online store's: equal to what stock Feast's generic read
  returns from the same store, except where the staleness rule blanks them;
- a value older than its view's ttl at the slate's time comes back missing and is
  counted as stale (and the on-demand features computed from it too), while stock
  Feast's generic read would still return it (feast-dev/feast issue 6821);
- a value from after the slate's time (replaying a past date on a newer store) comes
  back missing, counted as future;
- ``line_offered`` is the served consensus line, and the line-relative feature uses it;
- every market's service gives its own declared order (no request field where it reads
  none), the same values as the points service for the features they share, and the
  slate of every service at once reports each view once;
- ``nbafs online --date D [--market M] --json`` prints the vectors and the report.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import shutil

import pandas as pd
import pytest

from feature_repo import catalog
from feature_repo.catalog import PLAYER_POINTS_V1
from nbafs.timeline import noon_eastern
from serving import online
from tests import backfill_support
from tests.feast_repo import stock_online_read

UTC = dt.timezone.utc


@pytest.fixture
def season(tmp_path_factory, data_dir):
    """A copy of the session's small season (6 teams, 20 games each: generated, transformed, applied)."""
    shutil.copytree(backfill_support.template(tmp_path_factory), data_dir, dirs_exist_ok=True)
    from nbafs.profile import feature_store
    from warehouse import storage

    con = storage.connect()
    dates = [r[0] for r in con.execute(
        "SELECT DISTINCT game_date FROM nba_analytics.upcoming_player_game_context ORDER BY 1").fetchall()]
    return {"store": feature_store(), "dates": dates, "day": dates[len(dates) // 2]}


def _materialize_to(store, at: dt.datetime) -> None:
    store.materialize(backfill_support.WINDOW[0], at)


def test_every_player_of_the_day_in_service_order(season):
    store, day = season["store"], season["day"]
    _materialize_to(store, noon_eastern(day))
    frame, report = online.slate_features(day, store=store)

    expected = online.slate_players(day)
    assert len(frame) == len(expected) > 0 and report.players == len(frame)
    assert frame["player_lookup"].tolist() == expected["player_lookup"].tolist()
    assert list(frame.columns) == [*online.ID_COLUMNS, online.LINE_OFFERED, *PLAYER_POINTS_V1]
    assert frame.columns[len(online.ID_COLUMNS) + 1 + 8] == "usage_spike_score"
    assert str(frame["games_played_season"].dtype) == "Int64" and str(frame["is_home"].dtype) == "boolean"
    # Materialized up to the slate's time: the day's context rows are there and fresh.
    context = report.view("upcoming_player_game_context")
    assert context.fresh == len(frame) and context.stale == context.future == 0
    assert frame["points_avg_last_10"].notna().sum() > len(frame) // 2


def test_slate_values_are_the_online_stores_where_fresh(season):
    """Each value is plain get_online_features' value, or NULL where its view's row is older than the ttl."""
    store, day = season["store"], season["day"]
    at = noon_eastern(day)
    _materialize_to(store, at)
    frame, report = online.slate_features(day, store=store)
    rows = {"player_lookup": frame["player_lookup"].tolist(), "game_id": frame["game_id"].tolist(),
            online.LINE_OFFERED: [None if math.isnan(v) else v for v in frame[online.LINE_OFFERED]]}
    service = store.get_feature_service("player_points_v1")
    plain = stock_online_read(store, service, rows).to_dict(include_event_timestamps=True)

    def fresh(view: str, i: int) -> bool:
        if view == "usage_spike":
            return fresh("upcoming_player_game_context", i) and fresh("player_composite_factors", i)
        if view == "line_relative":
            return fresh("upcoming_player_game_context", i)
        feature = next(p.features[0].name for p in service.feature_view_projections if p.name == view)
        event = dt.datetime.fromtimestamp(plain[feature + "__ts"][i], UTC)
        return at - store.get_feature_view(view).ttl <= event <= at

    view_of = {f.name: p.name for p in service.feature_view_projections for f in p.features}
    blanked = 0
    for name in PLAYER_POINTS_V1:
        got = [None if pd.isna(v) else v for v in frame[name]]
        expected = [v if v is None or fresh(view_of[name], i) else None for i, v in enumerate(plain[name])]
        assert got == expected, name
        blanked += sum(g is None and p is not None for g, p in zip(got, plain[name]))
    assert report.stale > 0 and blanked > 0  # the season has players whose last game is > 10 days old


def test_line_offered_is_the_served_line_and_feeds_the_line_relative_feature(season):
    store, day = season["store"], season["day"]
    _materialize_to(store, noon_eastern(day))
    frame, report = online.slate_features(day, store=store)
    with_line = frame[frame["points_line"].notna()]
    assert len(with_line) > 0 and report.view("player_points_line").fresh == len(with_line)
    assert with_line[online.LINE_OFFERED].tolist() == with_line["points_line"].tolist()
    assert (with_line["points_avg_last_5_minus_line"] - (with_line["points_avg_last_5"] - with_line["points_line"])
            ).abs().max() < 1e-9
    no_line = frame[frame["points_line"].isna()]
    assert no_line[online.LINE_OFFERED].isna().all() and no_line["points_avg_last_5_minus_line"].isna().all()


def test_a_value_older_than_its_ttl_is_missing_and_counted_where_stock_feast_serves_it(season):
    store, day = season["store"], season["day"]
    _materialize_to(store, noon_eastern(day))
    players = online.slate_players(day)
    later = noon_eastern(day) + dt.timedelta(days=2)  # context and composites have a 1-day ttl
    frame, report = online.slate_vectors(store, players, later)

    context = report.view("upcoming_player_game_context")
    assert context.stale == len(players) and context.fresh == 0
    assert frame["points_avg_last_5"].isna().all() and frame["games_played_season"].isna().all()
    assert report.view("usage_spike").stale == len(players)  # computed from a stale input
    assert frame["usage_spike_score"].isna().all()
    summary = report.view("player_game_summary")  # 10-day ttl: most last games are still fresh
    assert summary.fresh > summary.stale
    assert 0 < frame["usage_rate"].notna().sum() <= summary.fresh  # NULL when he did not play

    plain = stock_online_read(
        store, ["upcoming_player_game_context:points_avg_last_5", "upcoming_player_game_context:games_played_season"],
        [{"player_lookup": p} for p in players["player_lookup"]],
    ).to_dict()
    assert all(v is not None for v in plain["games_played_season"])  # stock Feast serves what the store holds
    assert sum(v is not None for v in plain["points_avg_last_5"]) > 0


def test_a_value_from_after_the_slate_time_is_missing_and_counted_as_future(season):
    store, dates = season["store"], season["dates"]
    _materialize_to(store, noon_eastern(dates[-1]))  # the store is ahead of the slate we replay
    day = season["day"]
    frame, report = online.slate_features(day, store=store)
    context = report.view("upcoming_player_game_context")
    assert context.future == len(frame) > 0 and context.fresh == 0
    assert frame["points_avg_last_5"].isna().all()
    assert report.future >= context.future


def test_a_date_without_games_gives_an_empty_slate(season):
    store, dates = season["store"], season["dates"]
    _materialize_to(store, noon_eastern(dates[3]))
    day = dates[0] - dt.timedelta(days=30)
    frame, report = online.slate_features(day, store=store)
    assert len(frame) == 0 and report.players == 0
    assert list(frame.columns) == [*online.ID_COLUMNS, online.LINE_OFFERED, *PLAYER_POINTS_V1]


def test_nbafs_online_prints_vectors_and_report_as_json(season, capsys):
    from nbafs.cli import main

    store, day = season["store"], season["day"]
    _materialize_to(store, noon_eastern(day))
    capsys.readouterr()  # materialize's own output
    assert main(["online", "--date", day.isoformat(), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["staleness"]["date"] == day.isoformat()
    assert out["staleness"]["players"] == len(out["vectors"]) > 0
    assert set(PLAYER_POINTS_V1) <= set(out["vectors"][0])
    views = {v["view"]: v for v in out["staleness"]["views"]}
    assert views["upcoming_player_game_context"]["fresh"] == len(out["vectors"])
    assert main(["online", "--date", day.isoformat()]) == 0
    assert "Staleness" in capsys.readouterr().out
    assert main(["online", "--date", day.isoformat(), "--market", "threes", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    threes = list(catalog.SERVICES["player_threes_v1"])
    assert out["service"] == "player_threes_v1" and list(out["vectors"][0])[-len(threes):] == threes  # its order
    assert {"threes_line", "threes_over_prob_no_vig"} <= set(threes)


def test_a_market_service_gives_its_own_order_and_the_shared_values(season):
    """player_rebounds_v1: ids then its declared order, no line_offered (it reads no request
    field); a feature it shares with player_points_v1 has the very same served values."""
    store, day = season["store"], season["day"]
    _materialize_to(store, noon_eastern(day))
    points, _ = online.slate_features(day, store=store)
    rebounds, report = online.slate_features(day, store=store, service="player_rebounds_v1")
    order = catalog.SERVICES["player_rebounds_v1"]
    assert list(rebounds.columns) == [*online.ID_COLUMNS, *order]
    assert rebounds["player_lookup"].tolist() == points["player_lookup"].tolist()
    shared = [f for f in order if f in PLAYER_POINTS_V1]
    assert "vacated_usage_share" in shared and "minutes_avg_last_3" in shared
    for name in shared:
        assert rebounds[name].astype("float64").equals(points[name].astype("float64")), name
    assert rebounds["rebounds_avg_last_10"].notna().sum() > len(rebounds) // 2
    assert {v.view for v in report.views} >= {"player_stat_form", "player_availability", "player_prop_lines"}
    assert report.view("player_stat_form").fresh == len(rebounds)
    empty, _ = online.slate_features(day - dt.timedelta(days=60), store=store, service="player_pra_v1")
    assert list(empty.columns) == [*online.ID_COLUMNS, *catalog.SERVICES["player_pra_v1"]] and len(empty) == 0


def test_every_service_at_once_reports_each_view_once(season):
    store, day = season["store"], season["day"]
    _materialize_to(store, noon_eastern(day))
    frames, report = online.slate_features_by_service(day, store=store)
    assert list(frames) == list(catalog.SERVICES)
    single, single_report = online.slate_features(day, store=store, service="player_assists_v1")
    assert frames["player_assists_v1"].equals(single)
    views = [v.view for v in report.views]
    assert len(views) == len(set(views)) and report.players == len(single) and report.day == day
    for v in single_report.views:
        merged = report.view(v.view).to_dict()
        assert set(v.features) <= set(merged.pop("features"))
        assert merged == {k: x for k, x in v.to_dict().items() if k != "features"}, v.view
    assert set(report.view("player_stat_form").features) >= {"assists_avg_last_5", "pra_std_last_10"}
