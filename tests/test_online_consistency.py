"""Online values after materialization equal the latest offline values, for every entity and feature.

On the session's small generated season (6 teams, 20 games each: generated,
transformed, applied with feature_repo/), materialized through `FeatureStore.materialize`
(our batch engine, our online store). The expectation is computed independently from
the warehouse parquet: for each entity of each view, the latest source row by
(event_timestamp, created_at) with event_timestamp inside the window.

Checked twice: the whole store read back (``NbaSqliteOnlineStore.dump``: every row,
event and created timestamps included) and every feature of the service through
``get_online_features`` for every player (on-demand features recomputed from the
expected inputs with transformations/on_demand.py). The window is materialized in two
pieces, the later one first, so the check also covers writes that must not go back in
time.
"""
from __future__ import annotations

import datetime as dt
import math
import shutil

import pandas as pd
import pytest

from feature_repo.catalog import PLAYER_POINTS_V1
from feast_plugins.online_store import online_store_of
from nbafs.timeline import noon_eastern
from tests import backfill_support
from tests.feast_repo import stock_online_read

UTC = dt.timezone.utc
SERVICE = "player_points_v1"


@pytest.fixture
def materialized(tmp_path_factory, data_dir):
    """The season materialized from its start to noon US/Eastern of a mid-season date."""
    shutil.copytree(backfill_support.template(tmp_path_factory), data_dir, dirs_exist_ok=True)
    from nbafs.profile import feature_store
    from warehouse import storage

    dates = [r[0] for r in storage.connect().execute(
        "SELECT DISTINCT game_date FROM nba_raw.schedule ORDER BY 1").fetchall()]
    start, end = backfill_support.WINDOW[0], noon_eastern(dates[2 * len(dates) // 3])
    middle = noon_eastern(dates[len(dates) // 3])
    store = feature_store()
    store.materialize(middle, end)  # the later piece first ...
    store.materialize(start, middle)  # ... then the earlier one: nothing may go back in time
    return store, start, end


def _latest_offline(view, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """Brute force from the parquet: each entity's latest row in [start, end]."""
    from warehouse import schema, storage

    table = schema.table(view.batch_source.name)
    frame = storage.read_table(table).to_pandas()
    ts = pd.to_datetime(frame["event_timestamp"], utc=True)
    frame = frame[(ts >= start) & (ts <= end)]
    keys = [c.name for c in view.entity_columns]
    frame = frame.sort_values([*keys, "event_timestamp", "created_at"])
    return frame.groupby(keys, sort=True).tail(1).reset_index(drop=True)


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return a == b


def test_the_whole_online_store_equals_the_latest_offline_rows(materialized):
    store, start, end = materialized
    online = online_store_of(store)
    for view in store.list_feature_views():
        expected = _latest_offline(view, start, end)
        got = online.dump(store.config, view)
        keys = [c.name for c in view.entity_columns]
        assert len(got) == len(expected) > 0, view.name
        assert got[keys].values.tolist() == expected[keys].values.tolist(), view.name
        assert (pd.to_datetime(got["event_timestamp"], utc=True) == pd.to_datetime(expected["event_timestamp"], utc=True)).all()
        assert (pd.to_datetime(got["created_timestamp"], utc=True) == pd.to_datetime(expected["created_at"], utc=True)).all()
        for feature in (f.name for f in view.features):
            pairs = zip(got[feature].tolist(), expected[feature].tolist())
            bad = [(i, a, b) for i, (a, b) in enumerate(pairs) if not _same(a, None if pd.isna(b) else b)]
            assert not bad, f"{view.name}.{feature}: {len(bad)} rows differ, e.g. {bad[:3]}"


def test_every_feature_of_the_service_is_served_as_the_latest_offline_value(materialized):
    from transformations import on_demand

    store, start, end = materialized
    views = {v.name: v for v in store.list_feature_views()}
    latest = {name: _latest_offline(v, start, end) for name, v in views.items()}
    players = sorted(set().union(*(set(df["player_lookup"]) for df in latest.values())))
    lines = latest["player_points_line"].sort_values("event_timestamp").groupby("player_lookup").tail(1)
    game_of = dict(zip(lines["player_lookup"], lines["game_id"]))
    line_of = dict(zip(lines["player_lookup"], lines["points_line"]))
    rows = {"player_lookup": players, "game_id": [game_of.get(p, "no-game") for p in players],
            "line_offered": [line_of.get(p) for p in players]}
    served = stock_online_read(store, store.get_feature_service(SERVICE), rows).to_dict()  # what the store holds

    expected: dict[str, list] = {}
    service = store.get_feature_service(SERVICE)
    for projection in service.feature_view_projections:
        if projection.name not in views:
            continue
        df = latest[projection.name]
        keys = [c.name for c in views[projection.name].entity_columns]
        index = {tuple(r[k] for k in keys): r for r in df.to_dict("records")}
        for f in projection.features:
            expected[f.name] = [
                (lambda r: None if r is None or pd.isna(r[f.name]) else r[f.name])(
                    index.get(tuple(rows[k][i] for k in keys)))
                for i in range(len(players))
            ]
    expected["usage_spike_score"] = on_demand.usage_spike_score(
        expected["avg_usage_rate_last_7_games"], expected["season_usage_rate"])
    expected["points_avg_last_5_minus_line"] = on_demand.points_avg_last_5_minus_line(
        expected["points_avg_last_5"], rows["line_offered"])

    assert set(expected) == set(PLAYER_POINTS_V1)
    assert sum(v is not None for v in expected["points_line"]) > 0
    for name in PLAYER_POINTS_V1:
        bad = [(players[i], a, b) for i, (a, b) in enumerate(zip(served[name], expected[name])) if not _same(a, b)]
        assert not bad, f"{name}: {len(bad)} of {len(players)} players differ, e.g. {bad[:3]}"
