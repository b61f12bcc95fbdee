"""The offline store's contract beyond point-in-time values (tests/test_pit_property.py).

- Relative FileSource paths are read under NBAFS_DATA_DIR, wherever the process runs.
- ``pull_latest_from_table_or_query`` / ``pull_all_from_table_or_query`` (what the batch
  engine calls) read the same tables: latest row per key in a window, every row in it.
- A table with no partition yet reads as empty, not as an error.
- Retrieval errors a user can meet say what is missing.
- ``full_feature_names`` names columns ``view__feature`` as Feast does.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from feature_repo.feature_views import FEATURE_VIEWS
from nbafs.errors import UserError
from serving.training_set import entity_rows_for_range
from tests.feast_repo import _sample_store_home, applied_store, sample_store  # noqa: F401 - fixtures
from warehouse import schema, storage
from warehouse.validate import conform

UTC = dt.timezone.utc


def _pull(store, view: str, latest: bool, start: dt.datetime, end: dt.datetime):
    fv = store.get_feature_view(view)
    offline = store._get_provider().offline_store
    src = fv.batch_source
    args = dict(config=store.config, data_source=src, join_key_columns=["player_lookup"],
                feature_name_columns=[f.name for f in fv.features], timestamp_field=src.timestamp_field,
                created_timestamp_column=src.created_timestamp_column, start_date=start, end_date=end)
    job = offline.pull_latest_from_table_or_query(**args) if latest else offline.pull_all_from_table_or_query(**args)
    return job.to_df()


def test_pull_latest_and_pull_all_read_the_warehouse_under_the_data_dir(sample_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths must not depend on the working directory
    start, end = dt.datetime(2025, 11, 1, tzinfo=UTC), dt.datetime(2025, 11, 20, tzinfo=UTC)
    everything = _pull(sample_store, "upcoming_player_game_context", False, start, end)
    latest = _pull(sample_store, "upcoming_player_game_context", True, start, end)

    con = storage.connect()
    truth = con.execute(
        "SELECT player_lookup, event_timestamp FROM nba_analytics.upcoming_player_game_context "
        "WHERE event_timestamp BETWEEN ? AND ?", [start, end]).df()
    con.close()
    assert len(everything) == len(truth) > 0
    assert sorted(latest["player_lookup"]) == sorted(truth["player_lookup"].unique())
    newest = truth.groupby("player_lookup")["event_timestamp"].max()
    got = latest.set_index("player_lookup")["event_timestamp"]
    assert (pd.to_datetime(got, utc=True) == pd.to_datetime(newest.reindex(got.index), utc=True)).all()


def test_a_table_with_no_partition_reads_as_empty(data_dir, tmp_path):
    store = applied_store(tmp_path / "feast")
    entity = pd.DataFrame({"player_lookup": ["ann"], "game_id": ["G1"],
                           "event_timestamp": [pd.Timestamp("2025-11-02 17:00", tz="UTC")], "line_offered": [20.5]})
    out = store.get_historical_features(entity_df=entity, features=store.get_feature_service("player_points_v1"),
                                        filter_by_created_timestamp=True).to_df()
    assert len(out) == 1 and out["points_avg_last_5"].isna().all()
    pulled = _pull(store, "player_game_summary", True, dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert pulled.empty


def test_a_missing_join_key_names_the_view_and_the_column(sample_store):
    entity = entity_rows_for_range().head(5)[["player_lookup", "event_timestamp"]]
    with pytest.raises(UserError, match="player_points_line.*game_id"):
        sample_store.get_historical_features(entity_df=entity, features=["player_points_line:points_line"]).to_df()


def test_full_feature_names(sample_store):
    entity = entity_rows_for_range().tail(50)[["player_lookup", "game_id", "event_timestamp"]]
    out = sample_store.get_historical_features(
        entity_df=entity, full_feature_names=True,
        features=["upcoming_player_game_context:points_avg_last_5", "player_game_summary:usage_rate"],
    ).to_df()
    assert {"upcoming_player_game_context__points_avg_last_5", "player_game_summary__usage_rate"} <= set(out.columns)
    assert out["upcoming_player_game_context__points_avg_last_5"].notna().any()


def test_without_the_created_filter_a_late_row_is_visible_before_it_was_written(data_dir, tmp_path):
    """Feast's default semantics (filter off) stay available; training always turns it on."""
    snapshot = pd.Timestamp("2025-11-02 15:00", tz="UTC")
    line = pd.DataFrame([{
        "game_id": "G1", "game_date": dt.date(2025, 11, 2), "player_lookup": "ann", "snapshot_at": snapshot,
        "points_line": 20.5, "books_count": 3, "event_timestamp": snapshot,
        "created_at": snapshot + pd.Timedelta(days=2),  # backfilled two days later
    }])
    storage.write_partitions(schema.PLAYER_POINTS_LINE_CONSENSUS, conform(schema.PLAYER_POINTS_LINE_CONSENSUS, line))
    store = applied_store(tmp_path / "feast")
    entity = pd.DataFrame({"player_lookup": ["ann"], "game_id": ["G1"],
                           "event_timestamp": [snapshot + pd.Timedelta(hours=2)]})
    on = store.get_historical_features(entity_df=entity, features=["player_points_line:points_line"],
                                       filter_by_created_timestamp=True).to_df()
    off = store.get_historical_features(entity_df=entity, features=["player_points_line:points_line"]).to_df()
    assert on["points_line"].isna().all()
    assert off["points_line"].tolist() == [20.5]


def test_views_read_by_the_store_are_ours():
    for fv in FEATURE_VIEWS.values():
        assert fv.batch_source.path.startswith("warehouse/")
