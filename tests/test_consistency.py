"""Served vectors are logged, and ``nbafs consistency`` replays them (serving/consistency.py).

On the session's small season (local: a copy of the template per test; prod: the
league of tests/league.py on the stand-ins, with its own bucket and empty Redis):

- a slate served through the store is logged in Feast's logging schema (keys,
  ``line_offered``, values, statuses, event times, the request time) and replays with 0
  mismatches; ``nbafs consistency`` exits 0 and writes its chart;
- a value written into the online store that the offline store does not hold is
  reported with its feature, day and player, and the command exits 1;
- ``feast serve`` (a subprocess, stopped with SIGTERM) writes what it served when it ends;
- a failing write is loud, keeps the rows, and ``flush()`` raises;
- the production profile logs into BigQuery and replays there with 0 mismatches.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from feature_repo.catalog import PLAYER_POINTS_V1
from feast_plugins import feature_log
from nbafs import cli, paths, profile
from nbafs.timeline import noon_eastern
from tests import backfill_support
from tests.serve_support import feast_serve, post
from tests.league import prod_league  # noqa: F401 - fixture

UTC = dt.timezone.utc
SERVICE = "player_points_v1"


@pytest.fixture
def season(tmp_path_factory, data_dir, monkeypatch):
    """The small season, materialized to noon US/Eastern of a mid-season day; the log buffer empty."""
    monkeypatch.setenv(feature_log.FLUSH_SECONDS_ENV, "600")  # only explicit flushes in these tests
    feature_log.flush()
    shutil.copytree(backfill_support.template(tmp_path_factory), data_dir, dirs_exist_ok=True)
    from warehouse import storage

    dates = [r[0] for r in storage.connect().execute(
        "SELECT DISTINCT game_date FROM nba_analytics.upcoming_player_game_context ORDER BY 1").fetchall()]
    day = dates[len(dates) // 2]
    store = profile.feature_store()
    store.materialize(backfill_support.WINDOW[0], noon_eastern(day))
    return {"store": store, "day": day}


def _serve_slate(store, day):
    from serving import online

    frame, _ = online.slate_features(day, store=store)
    assert feature_log.flush() >= len(frame) > 0
    return frame


def test_a_served_slate_is_logged_in_feasts_schema_and_replays_with_no_mismatch(season, capsys):
    from serving.consistency import consistency, logged_rows

    store, day = season["store"], season["day"]
    frame = _serve_slate(store, day)

    logs = logged_rows(day, day).to_pandas()
    assert len(logs) == len(frame) and logs["__request_id"].nunique() == 1
    assert set(pd.to_datetime(logs["__log_timestamp"], utc=True)) == {noon_eastern(day)}  # the request time
    assert set(logs["__log_date"]) == {day}
    served = logs.set_index("player_lookup").loc[frame["player_lookup"]]
    assert served["game_id"].tolist() == frame["game_id"].tolist()
    pd.testing.assert_series_equal(served["line_offered"].reset_index(drop=True), frame["line_offered"],
                                   check_names=False)
    col = "upcoming_player_game_context__points_avg_last_5"
    assert served[col].tolist() == pytest.approx(frame["points_avg_last_5"].astype(float).tolist(), nan_ok=True)
    assert set(served[f"{col}__status"]) <= {1, 3} and served[f"{col}__timestamp"].notna().any()  # PRESENT / OUTSIDE_MAX_AGE

    report = consistency(day, day)
    assert report.mismatches == 0 and report.rows == len(frame)
    assert [f.feature for f in report.per] == list(PLAYER_POINTS_V1)
    assert all(f.rows == len(frame) and f.day == day for f in report.per)
    assert report.chart and report.chart.exists() and report.chart.parent == paths.reports_dir()

    assert cli.main(["consistency", "--start", str(day), "--end", str(day)]) == 0
    out = capsys.readouterr().out
    assert "0 mismatches" in out and str(report.chart) in out.replace("\n", "")


def test_a_value_served_that_the_offline_store_does_not_hold_is_reported_with_feature_and_day(season, capsys):
    from serving.consistency import consistency
    from warehouse import engine
    from warehouse.schema import UPCOMING_PLAYER_GAME_CONTEXT

    store, day = season["store"], season["day"]
    rows = engine.current().read(UPCOMING_PLAYER_GAME_CONTEXT, day, day).to_pandas()
    row = rows[rows["points_avg_last_5"].notna()].sort_values("player_lookup").head(1).copy()
    player = row["player_lookup"].iloc[0]
    row["points_avg_last_5"] += 3.0
    row["created_at"] = pd.to_datetime(row["created_at"], utc=True) + pd.Timedelta(seconds=1)  # passes the monotonic rule
    store.write_to_online_store("upcoming_player_game_context", row)
    _serve_slate(store, day)

    report = consistency(day, day)
    bad = {f.feature: f for f in report.per if f.mismatches}
    assert "points_avg_last_5" in bad and bad["points_avg_last_5"].mismatches == 1
    hit = bad["points_avg_last_5"]
    assert hit.day == day and hit.largest_difference == pytest.approx(3.0)
    assert hit.examples[0]["player_lookup"] == player
    assert hit.examples[0]["served"] == pytest.approx(hit.examples[0]["replayed"] + 3.0)
    assert set(bad) <= {"points_avg_last_5", "points_avg_last_5_minus_line"}  # the on-demand feature reads it

    assert cli.main(["consistency", "--start", str(day), "--end", str(day), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    flagged = [(r["day"], r["feature"]) for r in out["per_feature_and_day"] if r["mismatches"]]
    assert (str(day), "points_avg_last_5") in flagged and out["mismatches"] == report.mismatches


def test_a_failing_write_is_loud_keeps_the_rows_and_flush_raises(season, monkeypatch, caplog):
    store, day = season["store"], season["day"]
    from serving import online
    from serving.consistency import logged_rows

    frame, _ = online.slate_features(day, store=store)
    logs_dir = paths.warehouse_dir() / "nba_feast_logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    (logs_dir / SERVICE).write_text("not a directory")  # the destination cannot be written
    with pytest.raises(feature_log.FeatureLogError, match=r"player_points_v1.*nba_feast_logs/player_points_v1"):
        feature_log.flush()
    assert feature_log.pending_rows() == len(frame)
    assert any("kept for the next flush" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    (logs_dir / SERVICE).unlink()
    assert feature_log.flush() == len(frame) and feature_log.pending_rows() == 0
    assert logged_rows(day, day).num_rows == len(frame)


def test_rows_land_in_the_data_dir_they_were_served_from(season, monkeypatch, tmp_path):
    from serving import online
    from serving.consistency import logged_rows

    store, day = season["store"], season["day"]
    served_dir = paths.data_dir()
    frame, _ = online.slate_features(day, store=store)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "elsewhere"))  # another store is active at the write
    assert feature_log.flush() == len(frame)
    assert not (tmp_path / "elsewhere" / "warehouse").exists()
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(served_dir))
    assert logged_rows(day, day).num_rows == len(frame)


def test_feast_serve_logs_what_it_served_when_stopped_with_sigterm(season, tmp_path, monkeypatch):
    from serving import online
    from serving.consistency import consistency, logged_rows

    day = season["day"]
    players = online.slate_players(day)
    body = {"feature_service": SERVICE, "entities": {
        "player_lookup": players["player_lookup"].tolist(), "game_id": players["game_id"].tolist(),
        "line_offered": [20.5] * len(players), "request_time": [noon_eastern(day).isoformat()] * len(players)}}
    log = tmp_path / "feast-serve.log"
    monkeypatch.setenv(feature_log.FLUSH_SECONDS_ENV, "600")  # nothing written before the process ends
    with feast_serve(log) as url:  # stopped with SIGTERM
        for _ in range(2):
            status, answer = post(url, "/get-online-features", body)
            assert status == 200, answer
        assert not (paths.warehouse_dir() / "nba_feast_logs").exists()  # buffered, not written yet
    logs = logged_rows(day, day)
    assert logs.num_rows == 2 * len(players), log.read_text()[-3000:]
    assert len(set(logs.column("__request_id").to_pylist())) == 2
    assert set(logs.column("line_offered").to_pylist()) == {20.5}
    assert consistency(day, day, chart=False).mismatches == 0


@pytest.mark.prod
def test_prod_served_vectors_land_in_bigquery_and_replay_with_no_mismatch(prod_league, prod_env, monkeypatch):
    from warehouse import gcp, gcs
    from serving import online
    from serving.consistency import consistency, logged_rows

    # The league's BigQuery project, a copy of its registry in this test's bucket, an empty Redis.
    monkeypatch.setenv(gcp.PROJECT_ENV, prod_league[gcp.PROJECT_ENV])
    gcs.ObjectStore().write("feast/registry.db", gcs.ObjectStore(prod_league[gcs.BUCKET_ENV]).read("feast/registry.db").data)
    monkeypatch.setenv(feature_log.FLUSH_SECONDS_ENV, "600")
    feature_log.flush()
    store = profile.feature_store()
    service = store.get_feature_service(SERVICE)
    assert service.logging_config.destination.table == f"{prod_league[gcp.PROJECT_ENV]}.nba_feast_logs.{SERVICE}"
    from warehouse import engine

    dates = engine.current().query(
        "SELECT DISTINCT game_date FROM nba_analytics.upcoming_player_game_context ORDER BY 1").column(0).to_pylist()
    day = dates[len(dates) // 2]
    store.materialize(backfill_support.WINDOW[0], noon_eastern(day))
    frame = _serve_slate(store, day)

    logs = logged_rows(day, day)
    assert logs.num_rows == len(frame)
    report = consistency(day, day)
    assert report.mismatches == 0 and report.rows == len(frame) and len(report.per) == len(PLAYER_POINTS_V1)
