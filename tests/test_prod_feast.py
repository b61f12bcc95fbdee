"""The production Feast stores against the stand-ins: BigQuery emulator, fake-gcs-server, redis-server.

Protects:
- NbaBigQueryOfflineStore runs Feast's own BigQuery code on warehouse.gcp's client (the
  Feast hook it relies on is pinned): point-in-time retrieval with
  ``filter_by_created_timestamp`` through an entity upload into ``nba_feast_staging``
  (which Feast creates), ``pull_latest``/``pull_all``, ``offline_write_batch``;
- Redis (Feast's layout, our connection and write rule): an older event time never
  replaces a newer one, a later-written correction of the same event does (as in the
  local store); a Redis that does not answer or refuses the password is one message naming the
  service, its address and the variable, never the password;
- the GCS store lock is a lease: a second holder refuses or waits, a ``kill -9``'d
  holder's lease is taken over once expired, only its owner deletes it, a holder that
  lost it cannot save a checkpoint; GCS checkpoints detect a second writer and keep
  the resume point; GCS not answering or a missing bucket is one clear message;
- ``feast apply`` then ``feast plan`` with feature_store.prod.yaml plans no change, and
  NbaBatchEngine materializes BigQuery into Redis: an older window after a newer one
  changes nothing, and ``kill -9`` during ``feast materialize`` then a rerun leaves Redis
  identical to an uninterrupted run.
"""
from __future__ import annotations

import datetime as dt
import inspect
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pandas as pd
import pyarrow as pa
import pytest

from feast import BigQuerySource, Entity, FeatureView, Field
from feast.infra.offline_stores import bigquery as feast_bigquery
from feast.infra.registry.registry import Registry
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import RegistryConfig, RepoConfig
from feast.types import Float64, String
from feast.value_type import ValueType

from feast_plugins import bigquery_offline_store as bq_store
from feast_plugins import redis_online_store as redis_store
from materialize import lock, state
from materialize.checkpoint import CheckpointConflictError, GcsCheckpointStore, run_key
from nbafs import paths
from nbafs.errors import UserError
from tests import backfill_support as support
from tests.league import prod_league  # noqa: F401 - fixture
from tests.stack_support import redis_dump
from warehouse import gcp, gcs

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 11, 1, 6, tzinfo=UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
PROJECT = "nba_feature_store"
MID = dt.datetime(2025, 11, 15, tzinfo=UTC)


# --- the Feast behaviour NbaBigQueryOfflineStore relies on (no stand-in needed) -----------------


def test_feast_bigquery_store_gets_every_client_from_its_module_function():
    params = list(inspect.signature(feast_bigquery._get_bigquery_client).parameters)
    assert params == ["project", "location", "data_source"]
    for name in ("pull_latest_from_table_or_query", "pull_all_from_table_or_query", "get_historical_features",
                 "offline_write_batch", "write_logged_features"):
        code = getattr(feast_bigquery.BigQueryOfflineStore, name).__code__
        assert bq_store.CLIENT_FUNCTION in code.co_names, f"{name} no longer calls _get_bigquery_client"
        assert "Client" not in code.co_names, f"{name} builds a bigquery.Client of its own"
        # Methods we wrap (pushed rows merged by grain, log dataset created, declared column order)
        # keep Feast's rebound function underneath.
        wrapped = {"offline_write_batch": bq_store._feast_offline_write_batch,
                   "write_logged_features": bq_store._feast_write_logged_features,
                   "get_historical_features": bq_store._feast_get_historical_features}
        ours = wrapped.get(name) or getattr(bq_store.NbaBigQueryOfflineStore, name)
        assert ours.__code__ is code and ours.__globals__[bq_store.CLIENT_FUNCTION] is bq_store._client
    # Feast's own module is left alone: its stock store still builds Google's client.
    assert feast_bigquery._get_bigquery_client is not bq_store._client
    assert set(bq_store.rebound_methods()) >= {"pull_latest_from_table_or_query", "get_historical_features"}


# --- BigQuery offline store on the emulator ------------------------------------------------------


def _tiny_view(table: str) -> tuple[Entity, FeatureView, BigQuerySource]:
    source = BigQuerySource(name="tiny", table=table, timestamp_field="event_timestamp",
                            created_timestamp_column="created_at")
    player = Entity(name="player", join_keys=["player"], value_type=ValueType.STRING)
    view = FeatureView(name="tiny", entities=[player], ttl=dt.timedelta(days=30), source=source,
                       schema=[Field(name="player", dtype=String), Field(name="v", dtype=Float64)])
    return player, view, source


@pytest.mark.prod
def test_bigquery_offline_store_runs_feasts_queries_on_the_emulator(prod_env, tmp_path):
    client = gcp.bigquery_client()
    project = gcp.project()
    client.create_dataset("tiny")  # a hand-made table with known answers, not a warehouse table
    table = f"{project}.tiny.t"
    rows = pd.DataFrame({
        "player": ["a", "a", "b", "b"], "v": [1.0, 2.0, 3.0, 4.0],
        "event_timestamp": [T0, T0 + DAY, T0, T0 + DAY],
        # b's first row was written five days after its event: invisible before then
        "created_at": [T0, T0 + DAY, T0 + 5 * DAY, T0 + DAY],
    })
    client.load_table_from_dataframe(rows, table).result()
    player, view, source = _tiny_view(table)
    config = RepoConfig(
        project="tiny", provider="gcp", registry=RegistryConfig(path=str(tmp_path / "registry.db")),
        offline_store={"type": bq_store.CLASS_PATH, "project_id": project, "dataset": "nba_feast_staging"},
        online_store={"type": "sqlite", "path": str(tmp_path / "online.db")}, entity_key_serialization_version=3,
    )
    registry = Registry("tiny", config.registry, repo_path=tmp_path)
    registry.apply_entity(player, "tiny")
    registry.apply_feature_view(view, "tiny")
    store = bq_store.NbaBigQueryOfflineStore

    entity_rows = pd.DataFrame({
        "nbafs_row": [0, 1, 2, 3],
        "player": ["a", "b", "a", "b"],
        "event_timestamp": [T0 + dt.timedelta(hours=30), T0 + dt.timedelta(hours=2), T0 + 3 * DAY, T0 + 6 * DAY],
    })
    got = store.get_historical_features(config, [view], ["tiny:v"], entity_rows.copy(), registry, "tiny",
                                        filter_by_created_timestamp=True).to_df()
    by_row = dict(zip(got["nbafs_row"], got["v"]))
    assert len(got) == 4 and by_row[0] == 2.0 and by_row[2] == 2.0 and by_row[3] == 4.0
    assert pd.isna(by_row[1])  # b's only earlier row was not written yet at that time
    assert "nba_feast_staging" in {d.dataset_id for d in client.list_datasets()}  # Feast created it
    assert list(client.list_tables("nba_feast_staging")) == []  # and dropped the uploaded entity table

    latest = store.pull_latest_from_table_or_query(config, source, ["player"], ["v"], "event_timestamp",
                                                   "created_at", T0 - DAY, T0 + 3 * DAY).to_arrow()
    assert sorted(zip(latest["player"].to_pylist(), latest["v"].to_pylist())) == [("a", 2.0), ("b", 4.0)]
    everything = store.pull_all_from_table_or_query(config, source, ["player"], ["v"], "event_timestamp",
                                                    "created_at", T0, T0 + DAY - dt.timedelta(microseconds=1))
    assert sorted(everything.to_arrow()["v"].to_pylist()) == [1.0, 3.0]

    ts = pa.array([T0 + 2 * DAY], pa.timestamp("us", tz="UTC"))
    store.offline_write_batch(config, view, pa.table({"player": ["c"], "v": [9.0], "event_timestamp": ts,
                                                      "created_at": ts}), None)
    assert client.query(f"SELECT v FROM `{table}` WHERE player = 'c'").to_arrow()["v"].to_pylist() == [9.0]
    assert [c for c, _ in store.get_table_column_names_and_types_from_data_source(config, source)] == [
        "player", "v", "event_timestamp", "created_at"]


# --- Redis online store --------------------------------------------------------------------------


def _redis_config(tmp_path, project: str = "redis_test") -> RepoConfig:
    return RepoConfig(
        project=project, provider="local", registry=RegistryConfig(path=str(tmp_path / "registry.db")),
        online_store={"type": redis_store.CLASS_PATH}, entity_key_serialization_version=3,
    )


def _row(player: str, value: float, event: dt.datetime, created: dt.datetime | None = None):
    key = EntityKeyProto(join_keys=["player"], entity_values=[ValueProto(string_val=player)])
    return key, {"v": ValueProto(double_val=value)}, event, created or event


def _read(store, config, view, player: str):
    [(ts, values)] = store.online_read(config, view, [_row(player, 0, T0)[0]])
    return ts, (values or {}).get("v")


@pytest.mark.prod
def test_redis_store_never_lets_an_older_event_time_replace_a_newer_one(prod_env, tmp_path):
    config = _redis_config(tmp_path)
    _, view, _ = _tiny_view("p.d.t")
    store = redis_store.NbaRedisOnlineStore()
    store.online_write_batch(config, view, [_row("a", 2.0, T0 + DAY)], None)
    store.online_write_batch(config, view, [_row("a", 1.0, T0)], None)  # an older window, afterwards
    ts, value = _read(store, config, view, "a")
    assert (ts, value.double_val) == (T0 + DAY, 2.0)
    # Within one batch the newest row of a key wins whatever the order.
    store.online_write_batch(config, view, [_row("b", 5.0, T0 + 2 * DAY), _row("b", 4.0, T0 + DAY),
                                            _row("a", 3.0, T0 + 2 * DAY)], None)
    assert _read(store, config, view, "b")[1].double_val == 5.0 and _read(store, config, view, "a")[1].double_val == 3.0


@pytest.mark.prod
def test_redis_store_takes_a_late_correction_of_the_same_event_as_the_local_store_does(prod_env, tmp_path):
    """Same event time: the row written later (created_at) wins, an earlier-written one does not, a
    rerun of the same row rewrites it. Stock Feast skips every equal event time, so a corrected
    box score would never reach production while it reaches the local store."""
    config = _redis_config(tmp_path)
    _, view, _ = _tiny_view("p.d.t")
    store = redis_store.NbaRedisOnlineStore()
    store.online_write_batch(config, view, [_row("a", 2.0, T0, created=T0 + HOUR)], None)
    store.online_write_batch(config, view, [_row("a", 9.0, T0, created=T0 + 3 * HOUR)], None)  # the correction
    assert _read(store, config, view, "a")[1].double_val == 9.0
    store.online_write_batch(config, view, [_row("a", 2.0, T0, created=T0 + HOUR)], None)  # the stale original again
    assert _read(store, config, view, "a")[1].double_val == 9.0
    store.online_write_batch(config, view, [_row("a", 9.0, T0, created=T0 + 3 * HOUR)], None)  # a rerun
    ts, value = _read(store, config, view, "a")
    assert (ts, value.double_val) == (T0, 9.0)
    assert redis_store.replaces((5, None), (5, 7)) and not redis_store.replaces((4, 9), (5, 1))


@pytest.mark.prod
def test_redis_that_refuses_or_does_not_answer_is_one_message_without_the_password(prod_env, tmp_path, monkeypatch):
    password = prod_env[redis_store.PASSWORD_ENV]
    config = _redis_config(tmp_path).online_store
    address = f"rediss://127.0.0.1:{prod_env[redis_store.PORT_ENV]}"

    def error() -> str:
        with pytest.raises(redis_store.RedisUnavailableError) as exc:
            redis_store.NbaRedisOnlineStore()._get_client(config)
        return str(exc.value)

    wrong = "wrong-" + uuid.uuid4().hex
    monkeypatch.setenv(redis_store.PASSWORD_ENV, wrong)
    message = error()
    assert address in message and "refused" in message and redis_store.PASSWORD_ENV in message
    assert wrong not in message and password not in message
    monkeypatch.delenv(redis_store.PASSWORD_ENV)
    message = error()
    assert "without a password" in message and redis_store.PASSWORD_ENV in message

    monkeypatch.setenv(redis_store.PASSWORD_ENV, password)
    monkeypatch.setenv(redis_store.TLS_ENV, "false")  # the stand-in speaks TLS only, like Memorystore with encryption
    message = error()
    assert "does not answer" in message and redis_store.TLS_ENV in message and password not in message
    monkeypatch.setenv(redis_store.TLS_ENV, "true")
    monkeypatch.setenv(redis_store.PORT_ENV, str(_closed_port()))
    message = error()
    assert "does not answer" in message and redis_store.PORT_ENV in message and password not in message

    monkeypatch.setenv(redis_store.PORT_ENV, prod_env[redis_store.PORT_ENV])
    store = redis_store.NbaRedisOnlineStore()
    assert store._get_client(config).ping()
    for shown in (repr(config), repr(redis_store.endpoint_from_env()), repr(store), repr(store._client)):
        assert password not in shown
    with pytest.raises(UserError, match="connection_string is not read"):
        redis_store.NbaRedisOnlineStoreConfig(connection_string=f"127.0.0.1:6379,password={password}")
    with pytest.raises(UserError, match="skip_dedup"):
        redis_store.NbaRedisOnlineStoreConfig(skip_dedup=True)


def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- GCS: the store lock and the checkpoints -----------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from materialize import state
    with state.open("p").lock("holder test"):
        print("held", flush=True)
        time.sleep(120)
""")


def _holder(env_extra: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=paths.REPO_ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, **(env_extra or {})})
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.prod
def test_gcs_lock_refuses_a_second_holder_and_takes_over_a_killed_ones_lease_when_it_expires(prod_env, monkeypatch):
    monkeypatch.setenv(lock.LEASE_ENV, "2")
    holder = _holder()
    try:
        with pytest.raises(lock.StoreBusyError) as busy:
            with state.open("p").lock("second", wait=False):
                pass
        message = str(busy.value)
        assert "holder test" in message and f"pid {holder.pid}" in message
        assert f"gs://{prod_env[gcs.BUCKET_ENV]}/feast/state/p/store.lock" in message
        time.sleep(3)  # longer than the lease: the live holder renews it, so it stays busy
        with pytest.raises(lock.StoreBusyError):
            with state.open("p").lock("second", wait=False):
                pass
        os.kill(holder.pid, signal.SIGKILL)  # no release: only the lease's expiry frees the store
        holder.wait(10)
        killed_at = time.monotonic()
        said: list[str] = []
        with state.open("p").lock("after the kill", say=said.append):
            waited = time.monotonic() - killed_at
            with state.open("p").lock("re-entrant inside the same process", wait=False):
                pass
            info = json.loads(gcs.ObjectStore().read("feast/state/p/store.lock").data)
            assert info["pid"] == os.getpid() and info["purpose"] == "after the kill"
        assert waited < 2 + 1.5
        assert any("waiting for holder test" in m and "expires at" in m for m in said)
        assert any(m.startswith("took over") for m in said)
        assert gcs.ObjectStore().read("feast/state/p/store.lock") is None  # released: deleted
    finally:
        if holder.poll() is None:
            holder.kill()


@pytest.mark.prod
def test_gcs_lease_is_released_only_by_its_owner_and_a_lost_lease_stops_checkpoint_saves(prod_env):
    objects = gcs.ObjectStore()
    name = "feast/state/p/store.lock"
    first = lock.GcsLease(objects, name, lease=1.0)
    first.acquire(lock.holder_info("first"), wait=False, say=lambda m: None)
    first._stop.set()  # as if the process were paused: no more renewals
    first._renewer.join()
    second = lock.GcsLease(objects, name, lease=30.0)
    said: list[str] = []
    second.acquire(lock.holder_info("second"), wait=True, say=said.append)  # waits for the expiry, takes over
    assert any("took over" in m for m in said)
    assert not first.renew() and first.lost  # compare-and-swap on its old generation fails
    with pytest.raises(lock.LockLostError, match="no longer holds the store lock"):
        first.ensure_held()
    first.release()  # not ours any more: must not delete the second holder's lease
    assert json.loads(objects.read(name).data)["purpose"] == "second"

    # A run whose lease was lost cannot save a checkpoint (state.open wires the check).
    run = state.open("p")
    lock._HELD[first.key] = [first, 1]
    try:
        cp = run.checkpoints.begin("v", "k", T0, T0 + DAY)
        with pytest.raises(lock.LockLostError):
            run.checkpoints.save(cp)
    finally:
        del lock._HELD[first.key]
    second.release()
    assert objects.read(name) is None


@pytest.mark.prod
def test_gcs_checkpoints_detect_a_second_writer_and_keep_the_resume_point(prod_env):
    objects = gcs.ObjectStore()
    start, end = T0, T0 + 30 * DAY
    key = run_key("view-v1", start, end)
    ours = GcsCheckpointStore(objects, "feast/state/p/checkpoints")
    cp = ours.begin("v", key, start, end)
    cp.done_through = (T0 + 9 * DAY).isoformat()
    ours.save(cp, {"2025-11-09": {"usage_rate": {"rows": 5}}})

    again = GcsCheckpointStore(objects, "feast/state/p/checkpoints").begin("v", key, start, end)  # killed, rerun
    assert again.resumed_from == cp.done_through and again.dates == {"2025-11-09": {"usage_rate": {"rows": 5}}}
    fresh = GcsCheckpointStore(objects, "feast/state/p/checkpoints").begin("v", run_key("view-v1", start, end + DAY),
                                                                          start, end)
    assert fresh.resumed_from is None and fresh.done_through is None and fresh.dates == {}

    other = GcsCheckpointStore(objects, "feast/state/p/checkpoints")
    theirs = other.begin("v", key, start, end)
    theirs.done_through = (T0 + 12 * DAY).isoformat()
    other.save(theirs)  # another run writes in between
    cp.done_through = (T0 + 10 * DAY).isoformat()
    with pytest.raises(CheckpointConflictError, match="two runs are materializing the same store"):
        ours.save(cp)
    kept = GcsCheckpointStore(objects, "feast/state/p/checkpoints").load("v")
    assert kept.done_through == theirs.done_through  # the conflicting save wrote nothing
    theirs.completed = True
    other.save(theirs)
    assert GcsCheckpointStore(objects, "feast/state/p/checkpoints").begin("v", key, start, end).done_through is None


@pytest.mark.prod
def test_gcs_that_does_not_answer_or_a_missing_bucket_is_one_clear_message(prod_env, monkeypatch, tmp_path):
    from feast_plugins.registry_store import NbaGCSRegistryStore

    with pytest.raises(UserError, match="bucket gs://no-such-bucket-x does not exist.*NBAFS_GCS_BUCKET"):
        NbaGCSRegistryStore(RegistryConfig(path="gs://no-such-bucket-x/feast/registry.db"), tmp_path).get_registry_proto()
    with pytest.raises(FileNotFoundError):  # an empty bucket: Feast's Registry then creates a new registry
        NbaGCSRegistryStore(RegistryConfig(path=f"gs://{prod_env[gcs.BUCKET_ENV]}/feast/registry.db"),
                            tmp_path).get_registry_proto()
    monkeypatch.setattr(gcs, "RETRY_SECONDS", 1.0)
    address = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv(gcp.STORAGE_EMULATOR_ENV, address)
    t0 = time.monotonic()
    with pytest.raises(UserError) as exc:
        state.open("p").checkpoints.load("v")
    assert time.monotonic() - t0 < 10
    message = str(exc.value)
    assert "does not answer" in message and address in message and gcp.STORAGE_EMULATOR_ENV in message
    monkeypatch.delenv(gcs.BUCKET_ENV)
    with pytest.raises(UserError, match="set NBAFS_GCS_BUCKET"):
        state.open("p")


# --- feast apply / plan / materialize with feature_store.prod.yaml -------------------------------


def _feast(*args: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(support.BIN / "feast"), "-f", "feature_store.prod.yaml", *args], cwd=paths.REPO_ROOT,
                          env={**os.environ, "NBAFS_PROGRESS": "plain", **extra}, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def league_env(prod_league, prod_env, monkeypatch) -> dict[str, str]:
    """The league's BigQuery project and a copy of its registry, in this test's own bucket and empty Redis."""
    monkeypatch.setenv(gcp.PROJECT_ENV, prod_league[gcp.PROJECT_ENV])
    registry = gcs.ObjectStore(prod_league[gcs.BUCKET_ENV]).read("feast/registry.db")
    gcs.ObjectStore().write("feast/registry.db", registry.data)
    return {**prod_env, gcp.PROJECT_ENV: prod_league[gcp.PROJECT_ENV]}


def _materialize(start: dt.datetime, end: dt.datetime) -> None:
    store = support.feature_store()
    store.materialize(start, end)


@pytest.fixture(scope="module")
def clean_dump(prod_league) -> dict:
    """Redis after one uninterrupted materialization of the whole league (then flushed)."""
    from nbafs import stack

    with pytest.MonkeyPatch.context() as mp:
        for name, value in prod_league.items():
            mp.setenv(name, value)
        _materialize(*support.WINDOW)
        dump = redis_dump(prod_league)
        stack.redis_client(prod_league).flushall()
    assert dump
    return dump


@pytest.mark.prod
def test_feast_apply_then_plan_with_the_prod_yaml_plans_no_change(prod_league, monkeypatch):
    for name, value in prod_league.items():
        monkeypatch.setenv(name, value)
    applied = _feast("apply")  # the CLI, again on the league's registry: nothing to change
    assert applied.returncode == 0, applied.stderr
    planned = _feast("plan")
    assert planned.returncode == 0, planned.stderr
    assert "No changes to registry" in planned.stdout and "No changes to infrastructure" in planned.stdout
    assert gcs.ObjectStore().read("feast/registry.db") is not None  # the registry is the GCS object


@pytest.mark.prod
def test_materialize_into_redis_an_older_window_after_a_newer_changes_nothing(league_env, clean_dump):
    start, end = support.WINDOW
    _materialize(MID, end)
    newer = redis_dump(league_env)
    _materialize(start, MID)  # the older window, afterwards
    after = redis_dump(league_env)
    for key, fields in newer.items():
        assert {f: after[key].get(f) for f in fields} == fields, "an older value replaced a newer one"
    assert after == clean_dump  # each entity ends with its latest value: as one run of the whole window
    checkpoints = GcsCheckpointStore(gcs.ObjectStore(), f"feast/state/{PROJECT}/checkpoints")
    assert {v: checkpoints.load(v).completed for v in ("player_game_summary", "player_composite_factors",
                                                        "upcoming_player_game_context", "player_points_line")} == {
        "player_game_summary": True, "player_composite_factors": True,
        "upcoming_player_game_context": True, "player_points_line": True}
    assert gcs.ObjectStore().read(f"feast/state/{PROJECT}/store.lock") is None


def _chunks_done(objects: gcs.ObjectStore) -> int:
    total = 0
    for view in ("player_game_summary", "player_composite_factors", "upcoming_player_game_context",
                 "player_points_line"):
        version = objects.read(f"feast/state/{PROJECT}/checkpoints/{view}.json")
        if version is not None:
            total += json.loads(version.data)["state"]["chunks_done"]
    return total


@pytest.mark.prod
def test_kill_9_during_feast_materialize_then_rerun_leaves_redis_as_an_uninterrupted_run(league_env, clean_dump,
                                                                                          monkeypatch):
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    monkeypatch.setenv(lock.LEASE_ENV, "3")  # the killed run's lease blocks the rerun for at most 3 s
    monkeypatch.setenv("NBAFS_CHUNK_ROWS", "700")  # about 9 chunks
    objects = gcs.ObjectStore()
    start, end = support.WINDOW
    proc = subprocess.Popen(
        [str(support.BIN / "feast"), "-f", "feature_store.prod.yaml", "materialize",
         start.strftime("%Y-%m-%dT%H:%M:%S"), end.strftime("%Y-%m-%dT%H:%M:%S")],
        cwd=paths.REPO_ROOT, env={**os.environ, "NBAFS_PROGRESS": "plain"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    target = rng.randint(1, 24)  # chunk checkpoints over the four views (about 36 in all)
    try:
        deadline = time.monotonic() + 240
        while _chunks_done(objects) < target:
            assert proc.poll() is None, f"seed {seed}: feast materialize ended before the kill: {proc.stderr.read()}"
            assert time.monotonic() < deadline, f"seed {seed}: no progress"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.8))  # anywhere in the next chunk: reading, gating, writing, saving
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert objects.read(f"feast/state/{PROJECT}/store.lock") is not None  # a killed holder cannot release
    store = support.feature_store()
    store.materialize(start, end)  # the same command again: waits out the lease, resumes
    assert store._get_provider().batch_engine.last_run.resumed, f"seed {seed}: the rerun did not resume"
    assert redis_dump(league_env) == clean_dump, f"seed {seed}: Redis differs from an uninterrupted run"
