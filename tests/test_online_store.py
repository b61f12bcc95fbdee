"""The SQLite online store (feast_plugins/online_store.py) on a small Feast repo of its own.

What these tests protect:
- a value written is the value read, for every storage codec (float, int, bool, string,
  float32, int32, a list type kept as a protobuf), through Feast's own API;
- writes never go back in time (newer event wins; same event: the newer or equal
  created time wins, so reruns are idempotent), also across `materialize` windows;
- the fast `get_online_features` builds exactly the response of Feast's generic path
  (values, statuses, event timestamps, on-demand outputs, duplicates, unknown
  entities, full feature names), and `to_dict` equals Feast's own conversion;
- the wire-format codecs and the entity-key serialization match protobuf / Feast;
- `feast apply` reshapes tables (new feature: new column, others intact), teardown
  removes them; two connections (two processes' worth) see each other's writes and a
  writer waits for another's transaction instead of failing.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time

import pandas as pd
import pyarrow as pa
import pytest
from feast import Entity, FeatureService, FeatureStore, FeatureView, Field, FileSource, RequestSource, ValueType
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.online_store import OnlineStore
from feast.on_demand_feature_view import on_demand_feature_view
from feast.online_response import OnlineResponse
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus, GetOnlineFeaturesResponse
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import RepoConfig
from feast.types import Array, Bool, Float32, Float64, Int32, Int64, String

from feast_plugins.online_store import NbaSqliteOnlineStore, online_store_of
from feast_plugins.online_values import codec_for, serialize_key_column, serialize_python_key_column

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 10, 6, tzinfo=UTC)
AT = (T0 + dt.timedelta(days=2, hours=1)).isoformat()  # request time: the last day's values are fresh
PLAYERS = ["alpha", "bravo", "charlie", "delta"]
STORE_TYPE = "feast_plugins.online_store.NbaSqliteOnlineStore"

player = Entity(name="player", join_keys=["player_lookup"], value_type=ValueType.STRING)
game = Entity(name="game", join_keys=["game_id"], value_type=ValueType.STRING)
STATS_SCHEMA = [
    Field(name="pts", dtype=Float64), Field(name="games", dtype=Int64), Field(name="home", dtype=Bool),
    Field(name="team", dtype=String), Field(name="f32", dtype=Float32), Field(name="i32", dtype=Int32),
    Field(name="tags", dtype=Array(String)),
]


def _source_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three days of stats per player (one NULL pts, one NULL team) and one line per player-game."""
    rows = []
    for d in range(3):
        for i, p in enumerate(PLAYERS):
            ts = T0 + dt.timedelta(days=d)
            rows.append(dict(
                player_lookup=p, event_timestamp=ts, created_at=ts + dt.timedelta(minutes=5),
                pts=None if (p == "charlie" and d == 2) else 10.0 * i + d + 0.25, games=d + i, home=(i + d) % 2 == 0,
                team=None if p == "delta" else f"T{i}", f32=1.5 * i, i32=-i, tags=[p, str(d)],
            ))
    stats = pd.DataFrame(rows)
    stats["games"] = stats["games"].astype("int64")
    stats["i32"] = stats["i32"].astype("int32")
    stats["f32"] = stats["f32"].astype("float32")
    lines = pd.DataFrame(dict(
        player_lookup=PLAYERS, game_id=["g1", "g1", "g2", "g2"], event_timestamp=[T0 + dt.timedelta(days=2)] * 4,
        created_at=[T0 + dt.timedelta(days=2)] * 4, line=[20.5, None, 7.5, 11.0],
    ))
    return stats, lines


def _views(tmp_path, stats_schema=STATS_SCHEMA):
    stats_df, lines_df = _source_frames()
    stats_df.to_parquet(tmp_path / "stats.parquet")
    lines_df.to_parquet(tmp_path / "lines.parquet")
    stats = FeatureView(
        name="stats", entities=[player], ttl=dt.timedelta(days=1), schema=stats_schema, online=True,
        source=FileSource(name="stats_src", path=str(tmp_path / "stats.parquet"),
                          timestamp_field="event_timestamp", created_timestamp_column="created_at"),
    )
    line = FeatureView(
        name="line", entities=[player, game], ttl=dt.timedelta(hours=18), online=True,
        schema=[Field(name="line", dtype=Float64)],
        source=FileSource(name="lines_src", path=str(tmp_path / "lines.parquet"),
                          timestamp_field="event_timestamp", created_timestamp_column="created_at"),
    )
    offered = RequestSource(name="offered_request", schema=[Field(name="offered", dtype=Float64)])

    @on_demand_feature_view(sources=[stats[["pts", "games"]]], schema=[Field(name="pts_per_game", dtype=Float64)],
                            mode="python", name="per_game")
    def per_game(inputs: dict) -> dict:
        return {"pts_per_game": [p / g if p is not None and g else None
                                 for p, g in zip(inputs["pts"], inputs["games"])]}

    @on_demand_feature_view(sources=[stats[["pts"]], offered], schema=[Field(name="pts_minus_offered", dtype=Float64)],
                            mode="pandas", name="minus_offered")
    def minus_offered(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"pts_minus_offered": df["pts"] - df["offered"]})

    service = FeatureService(name="svc", features=[stats, line, per_game, minus_offered])
    return [player, game, stats, line, offered, per_game, minus_offered, service]


def _store(tmp_path, data_dir) -> FeatureStore:
    config = RepoConfig(
        project="mini", provider="local", registry=str(tmp_path / "registry.db"),
        online_store={"type": STORE_TYPE, "path": "online_store.db"},
        offline_store={"type": "duckdb"}, entity_key_serialization_version=3, repo_path=str(tmp_path),
    )
    return FeatureStore(config=config)


@pytest.fixture
def fs(tmp_path, data_dir) -> FeatureStore:
    store = _store(tmp_path, data_dir)
    store.apply(_views(tmp_path))
    return store


def _materialize(fs: FeatureStore, start: dt.datetime, end: dt.datetime) -> None:
    fs.materialize(start, end)


def _rows(players, offered=None, games=None) -> dict:
    rows = {"player_lookup": list(players)}
    rows["game_id"] = games or ["g1" if p in ("alpha", "bravo") else "g2" for p in players]
    rows["offered"] = offered or [15.0] * len(players)
    rows["request_time"] = [AT] * len(players)
    return rows


# --- read what was written ---------------------------------------------------------------


def test_store_file_lives_under_the_data_dir(fs, data_dir):
    assert online_store_of(fs).db_path(fs.config) == data_dir / "online_store.db"
    assert (data_dir / "online_store.db").exists()


def test_materialized_values_read_back_equal_for_every_codec(fs):
    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    got = fs.get_online_features(
        features=[f"stats:{f.name}" for f in STATS_SCHEMA] + ["line:line"], entity_rows=_rows(PLAYERS),
    ).to_dict()
    stats, lines = _source_frames()
    latest = stats[stats.event_timestamp == stats.event_timestamp.max()].set_index("player_lookup").loc[PLAYERS]
    assert got["pts"] == [None if pd.isna(v) else v for v in latest["pts"]]
    assert got["games"] == list(latest["games"]) and all(type(v) is int for v in got["games"])
    assert got["home"] == list(latest["home"]) and all(type(v) is bool for v in got["home"])
    assert got["team"] == [None if v is None else v for v in latest["team"]]
    assert got["f32"] == [float(v) for v in latest["f32"]]
    assert got["i32"] == list(latest["i32"])
    assert got["tags"] == [list(v) for v in latest["tags"]]
    assert got["line"] == [20.5, None, 7.5, 11.0]


def test_online_read_contract_returns_event_time_and_protos(fs):
    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    online = online_store_of(fs)
    stats = fs.get_feature_view("stats")
    keys = [EntityKeyProto(join_keys=["player_lookup"], entity_values=[ValueProto(string_val=p)])
            for p in ("alpha", "nobody")]
    (ts, values), missing = online.online_read(fs.config, stats, keys, ["pts", "games"])
    assert ts == T0 + dt.timedelta(days=2)
    assert values == {"pts": ValueProto(double_val=2.25), "games": ValueProto(int64_val=2)}
    assert missing == (None, None)


def test_write_arrow_stores_what_online_write_batch_stores(tmp_path, data_dir):
    """The batch engine may write Arrow chunks directly: the store must end up identical."""
    stats_df, _ = _source_frames()
    a = _store(tmp_path, data_dir)
    a.apply(_views(tmp_path))
    a.write_to_online_store("stats", stats_df)  # Feast's path: protos, online_write_batch
    dump_a = online_store_of(a).dump(a.config, a.get_feature_view("stats"))

    online = online_store_of(a)
    a.teardown()
    b = _store(tmp_path, data_dir)
    b.apply(_views(tmp_path))
    table = pa.Table.from_pandas(stats_df, preserve_index=False)
    online_b = online_store_of(b)
    assert online_b.write_arrow(b.config, b.get_feature_view("stats"), table, "event_timestamp", "created_at") == 12
    dump_b = online_b.dump(b.config, b.get_feature_view("stats"))
    assert online is not online_b
    pd.testing.assert_frame_equal(dump_a, dump_b)
    assert len(dump_b) == len(PLAYERS)


# --- never back in time --------------------------------------------------------------------


def _write(fs, player_name: str, pts: float, event: dt.datetime, created: dt.datetime) -> None:
    df = pd.DataFrame([dict(player_lookup=player_name, event_timestamp=event, created_at=created, pts=pts,
                            games=1, home=True, team="T", f32=1.0, i32=1, tags=["x"])])
    df["f32"] = df["f32"].astype("float32")
    df["i32"] = df["i32"].astype("int32")
    fs.write_to_online_store("stats", df)


WRITES_AT = (T0 + dt.timedelta(days=1)).isoformat()  # the writes below are at T0 and T0 + 1 day: both fresh


def _pts(fs, player_name: str):
    return fs.get_online_features(features=["stats:pts"], entity_rows=[{"player_lookup": player_name, "request_time": WRITES_AT}]).to_dict()["pts"][0]


def test_an_older_write_never_replaces_a_newer_value(fs):
    _write(fs, "alpha", 2.0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=1))
    _write(fs, "alpha", 1.0, T0, T0 + dt.timedelta(days=5))  # older event, even if written later
    assert _pts(fs, "alpha") == 2.0


def test_same_event_time_rewrite_is_idempotent_and_late_corrections_win(fs):
    _write(fs, "alpha", 1.0, T0, T0)
    _write(fs, "alpha", 1.0, T0, T0)  # rerun of the same data: overwritten with itself
    assert _pts(fs, "alpha") == 1.0
    _write(fs, "alpha", 1.5, T0, T0 + dt.timedelta(hours=1))  # late correction (newer created)
    assert _pts(fs, "alpha") == 1.5
    _write(fs, "alpha", 9.0, T0, T0 - dt.timedelta(hours=1))  # a stale replay of the same event
    assert _pts(fs, "alpha") == 1.5


def test_materializing_an_old_window_after_a_new_one_keeps_the_new_values(fs):
    _materialize(fs, T0 + dt.timedelta(days=1, hours=12), T0 + dt.timedelta(days=3))
    newer = online_store_of(fs).dump(fs.config, fs.get_feature_view("stats"))
    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(hours=1))
    after = online_store_of(fs).dump(fs.config, fs.get_feature_view("stats"))
    pd.testing.assert_frame_equal(newer, after)
    assert set(after.event_timestamp) == {T0 + dt.timedelta(days=2)}


# --- the fast read path is Feast's response --------------------------------------------------


def _generic(fs, features, rows, full_feature_names=False) -> OnlineResponse:
    """Feast's own OnlineStore.get_online_features over the same store (online_read per view)."""
    return OnlineStore.get_online_features(
        online_store_of(fs), fs.config, features, rows, fs.registry, fs.project, full_feature_names,
    )


def _by_name(response: OnlineResponse) -> dict:
    return dict(zip(response.proto.metadata.feature_names.val, response.proto.results))


@pytest.mark.parametrize("full_feature_names", [False, True])
def test_fast_response_equals_feasts_generic_response(fs, full_feature_names):
    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    service = fs.get_feature_service("svc")
    # duplicates, an unknown player, a line for one game only, a NULL request value
    players = ["delta", "alpha", "nobody", "alpha", "charlie", "bravo"]
    rows = _rows(players, offered=[15.0, None, 3.0, 12.5, float("nan"), 2.0])
    fast = fs.get_online_features(features=service, entity_rows=rows, full_feature_names=full_feature_names)
    generic = _generic(fs, service, rows, full_feature_names)
    assert type(fast).__name__ == "NbaOnlineResponse" and type(generic) is OnlineResponse
    a, b = _by_name(fast), _by_name(generic)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name  # values, statuses and event timestamps
    assert fast.to_dict(include_event_timestamps=True) == generic.to_dict(include_event_timestamps=True)
    assert fast.to_dict(include_event_timestamps=True) == OnlineResponse(fast.proto).to_dict(True)
    statuses = a["stats__pts" if full_feature_names else "pts"].statuses
    assert statuses[2] == FieldStatus.NOT_FOUND and statuses[0] == FieldStatus.PRESENT


def test_fast_response_with_numpy_inputs_equals_feasts(fs):
    """Inputs that are not plain Python values take Feast's own conversion: same response."""
    import numpy as np

    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    service = fs.get_feature_service("svc")
    rows = {"player_lookup": list(np.array(["charlie", "alpha"])), "game_id": list(np.array(["g2", "g1"])),
            "offered": list(np.array([1.5, np.nan])), "request_time": [AT, AT]}
    fast = fs.get_online_features(features=service, entity_rows=rows)
    generic = _generic(fs, service, rows)
    assert _by_name(fast) == _by_name(generic)
    assert fast.to_dict(True) == generic.to_dict(True)


def test_fast_response_with_entity_rows_as_dicts_and_feature_refs(fs):
    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    rows = [{"player_lookup": p, "game_id": "g1", "request_time": AT} for p in ("bravo", "alpha")]
    features = ["stats:pts", "stats:team", "line:line"]
    fast = fs.get_online_features(features=features, entity_rows=rows)
    assert fast.to_dict() == _generic(fs, features, rows).to_dict()
    assert fast.to_df()["pts"].tolist() == [12.25, 2.25]


def test_an_empty_store_serves_every_value_as_not_found(fs):
    response = fs.get_online_features(features=fs.get_feature_service("svc"), entity_rows=_rows(PLAYERS))
    by_name = _by_name(response)
    assert set(by_name["pts"].statuses) == {FieldStatus.NOT_FOUND}
    assert response.to_dict()["pts_per_game"] == [None] * 4


# --- wire format and keys ------------------------------------------------------------------

CODEC_CASES = {
    ValueType.DOUBLE: [0.0, -1.5, 1e300, None],
    ValueType.FLOAT: [0.0, 1.25, -3.5, None],
    ValueType.INT64: [0, 1, -1, 127, 128, 2**62, -(2**63), None],
    ValueType.INT32: [0, -5, 2**31 - 1, -(2**31), None],
    ValueType.BOOL: [True, False, None],
    ValueType.STRING: ["", "abc", "é" * 200, None],
    ValueType.BYTES: [b"", b"\x00" * 300, None],
    ValueType.STRING_LIST: [ValueProto(string_list_val={"val": ["a", "b"]}).SerializeToString(), None],
}


@pytest.mark.parametrize("value_type", list(CODEC_CASES))
def test_codec_frames_parse_as_the_value_protobuf_builds(value_type):
    codec = codec_for(value_type)
    for stored in CODEC_CASES[value_type]:
        vector = GetOnlineFeaturesResponse.FeatureVector.FromString(codec.frame(stored))
        assert vector.values[0] == codec.to_proto(stored)
        assert codec.from_proto(codec.to_proto(stored)) == stored


def test_entity_keys_serialize_exactly_as_feast_does():
    players = [ValueProto(string_val=p) for p in ("lebronjames", "é", "")]
    games = [ValueProto(int64_val=v) for v in (5, -7, 2**40)]
    expected = [
        serialize_entity_key(EntityKeyProto(join_keys=["player", "game"], entity_values=[p, g]), 3)
        for p, g in zip(players, games)
    ]
    assert serialize_key_column(["player", "game"], [players, games]) == expected
    assert serialize_python_key_column(
        ["player", "game"], [ValueType.STRING, ValueType.INT64], [["lebronjames", "é", ""], [5, -7, 2**40]]
    ) == expected
    single = [serialize_entity_key(EntityKeyProto(join_keys=["player"], entity_values=[p]), 3) for p in players]
    assert serialize_key_column(["player"], [players]) == single


# --- tables: apply, teardown, concurrency -------------------------------------------------------


def test_apply_with_a_new_feature_adds_a_column_and_keeps_the_values(tmp_path, data_dir, fs):
    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    before = _pts(fs, "bravo")
    wider = _store(tmp_path, data_dir)
    wider.apply(_views(tmp_path, STATS_SCHEMA + [Field(name="minutes", dtype=Float64)]))
    got = wider.get_online_features(features=["stats:pts", "stats:minutes"],
                                    entity_rows=[{"player_lookup": "bravo"}]).to_dict()
    assert got == {"player_lookup": ["bravo"], "pts": [before], "minutes": [None]}


def test_teardown_removes_the_tables_and_the_file(fs, data_dir):
    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    fs.teardown()
    assert not (data_dir / "online_store.db").exists()
    assert not (data_dir / "online_store.db-wal").exists()


def test_a_store_without_apply_says_to_run_feast_apply(tmp_path, data_dir):
    fs = _store(tmp_path, data_dir)
    fs.apply(_views(tmp_path))
    with sqlite3.connect(data_dir / "online_store.db") as conn:
        conn.execute('DROP TABLE "mini_stats"')
    with pytest.raises(Exception, match="run `feast apply`"):
        _pts(fs, "alpha")


def test_two_connections_see_each_others_writes_and_a_writer_waits(tmp_path, data_dir, fs):
    other = _store(tmp_path, data_dir)  # a second store object: its own connection
    _write(other, "alpha", 3.0, T0, T0)
    assert _pts(fs, "alpha") == 3.0

    blocker = sqlite3.connect(data_dir / "online_store.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    done = threading.Event()

    def write_later():
        _write(fs, "alpha", 4.0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=1))
        done.set()

    writer = threading.Thread(target=write_later)
    writer.start()
    time.sleep(0.5)
    assert not done.is_set()  # waiting for the lock, not failed
    assert _pts(other, "alpha") == 3.0  # readers are not blocked by a writer (WAL)
    blocker.execute("COMMIT")
    writer.join(timeout=30)
    assert done.is_set()
    assert _pts(other, "alpha") == 4.0


def _write_in_child(fs, conn) -> None:
    try:
        _write(fs, "bravo", 7.0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=1))
        conn.send("ok")
    except BaseException as exc:  # report to the parent instead of dying silently
        conn.send(repr(exc))


def test_a_forked_process_writes_with_its_own_connection(fs):
    """A batch engine may fork workers: the child must not reuse the parent's SQLite connection."""
    import multiprocessing

    _write(fs, "bravo", 6.0, T0, T0)  # the parent's connection is open
    ctx = multiprocessing.get_context("fork")
    parent_end, child_end = ctx.Pipe()
    child = ctx.Process(target=_write_in_child, args=(fs, child_end))
    child.start()
    child.join(timeout=60)
    assert parent_end.recv() == "ok" and child.exitcode == 0
    assert _pts(fs, "bravo") == 7.0  # the parent sees the child's commit, its connection still works


# --- the staleness rule: served iff request_time - ttl <= event time <= request_time -----------


def _statuses(response, name: str) -> list:
    return list(_by_name(response)[name].statuses)


def test_a_value_older_than_its_ttl_at_the_request_time_is_missing_outside_max_age(fs):
    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    service = fs.get_feature_service("svc")
    late = (T0 + dt.timedelta(days=3, hours=7)).isoformat()  # stats 25 h old (ttl 1 day)
    rows = {**_rows(["alpha", "bravo"]), "request_time": [late, AT]}
    response = fs.get_online_features(features=service, entity_rows=rows)
    values = response.to_dict()
    assert _statuses(response, "pts") == [FieldStatus.OUTSIDE_MAX_AGE, FieldStatus.PRESENT]
    assert values["pts"] == [None, 12.25]
    # on-demand outputs computed from a value outside its window are outside it too
    assert _statuses(response, "pts_per_game")[0] == FieldStatus.OUTSIDE_MAX_AGE
    assert values["pts_per_game"][0] is None and values["pts_minus_offered"][0] is None
    assert _statuses(response, "pts_minus_offered") == [FieldStatus.OUTSIDE_MAX_AGE, FieldStatus.PRESENT]
    # the line's ttl is 18 h: at `late` it is 25 h old as well
    assert values["line"] == [None, None] and _statuses(response, "line")[0] == FieldStatus.OUTSIDE_MAX_AGE


def test_a_value_written_after_the_request_time_is_not_served(fs):
    """Replaying a past time on a newer store: the stored value was not known then."""
    _materialize(fs, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    before = (T0 + dt.timedelta(days=1)).isoformat()
    response = fs.get_online_features(features=["stats:pts"], entity_rows={"player_lookup": ["alpha"], "request_time": [before]})
    assert response.to_dict()["pts"] == [None]
    assert _statuses(response, "pts") == [FieldStatus.OUTSIDE_MAX_AGE]


def test_without_a_request_time_the_wall_clock_judges(fs):
    now = dt.datetime.now(UTC).replace(microsecond=0)
    _write(fs, "alpha", 3.0, now - dt.timedelta(minutes=1), now)
    _write(fs, "bravo", 4.0, now - dt.timedelta(days=2), now)
    response = fs.get_online_features(features=["stats:pts"], entity_rows={"player_lookup": ["alpha", "bravo"]})
    assert response.to_dict()["pts"] == [3.0, None]
    assert _statuses(response, "pts") == [FieldStatus.PRESENT, FieldStatus.OUTSIDE_MAX_AGE]


def test_a_service_answers_in_its_declared_order(tmp_path, data_dir):
    store = _store(tmp_path, data_dir)
    objects = _views(tmp_path)
    stats, line, per_game = objects[2], objects[3], objects[5]
    declared = ["line", "pts_per_game", "team", "pts"]
    service = FeatureService(name="ordered", features=[stats[["pts", "team"]], line, per_game],
                             tags={"order": ",".join(declared)})
    store.apply([*objects, service])
    _materialize(store, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=3))
    rows = {k: v for k, v in _rows(["alpha"]).items() if k != "offered"}
    response = store.get_online_features(features=store.get_feature_service("ordered"), entity_rows=rows)
    assert list(response.proto.metadata.feature_names.val) == ["player_lookup", "game_id", *declared]
    assert list(response.to_df().columns) == ["player_lookup", "game_id", *declared]
    refs = ["stats:team", "line:line", "stats:pts"]
    by_refs = store.get_online_features(features=refs, entity_rows=rows, full_feature_names=True)
    assert list(by_refs.to_dict())[2:] == ["stats__team", "line__line", "stats__pts"]


def test_a_request_without_a_join_key_names_it(fs):
    from feast_plugins.staleness import RequestError

    with pytest.raises(RequestError, match="'game_id'.*'line' is keyed by"):
        fs.get_online_features(features=fs.get_feature_service("svc"),
                               entity_rows={"player_lookup": ["alpha"], "offered": [1.0], "request_time": [AT]})


@pytest.mark.parametrize("bad", ["yesterday", "2026-01-12T07:00:00", -5, [AT, AT, AT]])
def test_a_malformed_request_time_names_the_field(fs, bad):
    from feast_plugins.staleness import RequestError

    rows = {"player_lookup": ["alpha", "bravo"], "request_time": bad if isinstance(bad, list) else [bad]}
    with pytest.raises(RequestError, match="request_time"):
        fs.get_online_features(features=["stats:pts"], entity_rows=rows)


@pytest.mark.parametrize("features, match", [
    (["stats:no_such_feature"], "features: .*no_such_feature"),
    (["no_such_view:pts"], "features: .*no_such_view"),
])
def test_an_unknown_feature_or_view_is_a_user_error_naming_it(fs, features, match):
    from feast_plugins.staleness import RequestError
    from nbafs.errors import UserError

    with pytest.raises(RequestError, match=match) as caught:
        fs.get_online_features(features=features, entity_rows={"player_lookup": ["alpha"], "request_time": [AT]})
    assert isinstance(caught.value, UserError)
