"""The production online store's reads (NbaRedisOnlineStore) through our read path.

What these tests protect:
- the Value wire decoder gives exactly what the protobuf parser and the codec give;
- on the stand-in Redis, a slate read through our path is stock Feast's response from
  the same Redis (values, statuses, event times), where the values are fresh;
- the staleness rule holds in production as on the laptop: at a later request time the
  same values come back NULL with OUTSIDE_MAX_AGE, and the response is in declared order.
"""
from __future__ import annotations

import datetime as dt
import math

import pytest
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.value_type import ValueType

from feast_plugins.online_values import codec_for, timestamp_micros, value_decoder
from feature_repo.catalog import PLAYER_POINTS_V1
from nbafs.timeline import noon_eastern
from tests import backfill_support as support
from tests.feast_repo import stock_online_read
from tests.league import prod_league  # noqa: F401 - fixture
from warehouse import gcp, gcs

CASES = {
    ValueType.DOUBLE: [0.0, -1.5, 1e300, 5e-324, math.pi],
    ValueType.FLOAT: [0.0, 1.5, -3.25],
    ValueType.INT64: [0, 1, -1, 2**62, -(2**63)],
    ValueType.INT32: [0, 7, -7, 2**31 - 1],
    ValueType.BOOL: [True, False],
    ValueType.STRING: ["", "abc", "é" * 10, "x" * 300],
}
FIELD = {ValueType.DOUBLE: "double_val", ValueType.FLOAT: "float_val", ValueType.INT64: "int64_val",
         ValueType.INT32: "int32_val", ValueType.BOOL: "bool_val", ValueType.STRING: "string_val"}


@pytest.mark.parametrize("value_type", list(CASES))
def test_value_decoder_equals_the_protobuf_parser(value_type):
    codec = codec_for(value_type)
    decode = value_decoder(codec)
    for v in CASES[value_type]:
        raw = ValueProto(**{FIELD[value_type]: v}).SerializeToString()
        assert decode(raw) == codec.from_proto(ValueProto.FromString(raw)), (value_type, v)
    assert decode(ValueProto().SerializeToString()) is None and decode(None) is None


def test_timestamp_decoder_reads_seconds_and_nanos():
    from google.protobuf.timestamp_pb2 import Timestamp

    for ns in (0, 1_770_000_000_123_456_000, 1_000_000_000):
        ts = Timestamp()
        ts.FromNanoseconds(ns)
        assert timestamp_micros(ts.SerializeToString()) == (ns // 1000 if ns else None)  # epoch 0: no bytes


@pytest.fixture
def materialized(prod_league, prod_env, monkeypatch):
    """The league materialized into this test's empty Redis."""
    monkeypatch.setenv(gcp.PROJECT_ENV, prod_league[gcp.PROJECT_ENV])
    registry = gcs.ObjectStore(prod_league[gcs.BUCKET_ENV]).read("feast/registry.db")
    gcs.ObjectStore().write("feast/registry.db", registry.data)
    store = support.feature_store()
    store.materialize(*support.WINDOW)
    return store


def _slate(day: dt.date) -> dict:
    from serving.online import slate_players

    players = slate_players(day)
    return {"player_lookup": players["player_lookup"].tolist(), "game_id": players["game_id"].tolist(),
            "line_offered": [20.5] * len(players)}


@pytest.mark.prod
def test_redis_reads_through_our_path_equal_stock_feast_where_fresh(materialized):
    store = materialized
    day = dt.date(2025, 12, 2)  # the league's last game day: the store holds its rows
    rows = _slate(day)
    assert len(rows["player_lookup"]) > 20
    at = noon_eastern(day)
    service = store.get_feature_service("player_points_v1")
    ours = store.get_online_features(features=service, entity_rows={**rows, "request_time": [at.isoformat()]})
    assert type(ours).__name__ == "NbaOnlineResponse"
    stock = stock_online_read(store, service, rows)
    names = list(ours.proto.metadata.feature_names.val)
    assert names == ["player_lookup", "game_id", *PLAYER_POINTS_V1]
    stock_by_name = dict(zip(stock.proto.metadata.feature_names.val, stock.proto.results))
    ours_by_name = dict(zip(names, ours.proto.results))
    batch = {v.name: v.ttl for v in store.list_feature_views()}
    ttl = {f.name: batch[p.name] for p in service.feature_view_projections if p.name in batch for f in p.features}
    compared = 0
    for name in names:
        if name not in ttl:
            continue  # on-demand outputs: checked below through their inputs
        a, b = ours_by_name[name], stock_by_name[name]
        assert list(a.event_timestamps) == list(b.event_timestamps), name
        for i, (status, value) in enumerate(zip(b.statuses, b.values)):
            event = dt.datetime.fromtimestamp(b.event_timestamps[i].seconds, dt.timezone.utc)
            if b.event_timestamps[i].seconds == 0:  # nothing stored: stock Feast says PRESENT (a NULL)
                assert a.statuses[i] == FieldStatus.NOT_FOUND, (name, i)
            elif status == FieldStatus.PRESENT and at - ttl[name] <= event <= at:
                assert a.statuses[i] == FieldStatus.PRESENT and a.values[i] == value, (name, i)
                compared += 1
            elif status == FieldStatus.PRESENT:
                assert a.statuses[i] == FieldStatus.OUTSIDE_MAX_AGE and not a.values[i].WhichOneof("val"), (name, i)
            else:
                assert a.statuses[i] == status, (name, i)
    assert compared > 10 * len(rows["player_lookup"])
    # and later, the day's rows are outside their one-day ttl: NULL, OUTSIDE_MAX_AGE
    later = store.get_online_features(
        features=service, entity_rows={**rows, "request_time": [(at + dt.timedelta(days=3)).isoformat()]})
    statuses = later.statuses("points_avg_last_5")
    assert set(statuses) == {FieldStatus.OUTSIDE_MAX_AGE}
    assert set(later.statuses("usage_spike_score")) == {FieldStatus.OUTSIDE_MAX_AGE}
    assert all(v is None for v in later.to_dict()["points_avg_last_5"])
