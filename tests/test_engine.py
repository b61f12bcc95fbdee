"""The batch engine behind ``feast materialize`` (materialize/engine.py), on a small generated season.

Protects the promises of issue 4 for plain ``feast materialize``:
- a run killed with ``kill -9`` at a random moment and started again ends with an
  online store identical to an uninterrupted run's;
- materializing an older range after a newer one never takes a value back in time;
- rerunning a completed range rewrites it (not skipped) and changes nothing;
- the final store does not depend on the chunk size.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import time

import pytest

from materialize.checkpoint import FileCheckpointStore
from nbafs import paths
from tests import backfill_support as support

UTC = dt.timezone.utc
MID = dt.datetime(2025, 11, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory):
    """The online store of one uninterrupted run over the whole season (built once)."""
    d = support.clone(support.template(tmp_path_factory), tmp_path_factory.mktemp("clean") / "store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        store = support.feature_store()
        store.materialize(*support.WINDOW)
        return support.dump_all(store)


@pytest.fixture
def store_dir(small_store):
    return small_store


def _checkpoints(d) -> list[dict]:
    out = []
    for p in (d / "checkpoints").glob("*/*.json"):
        try:
            out.append(json.loads(p.read_text()))
        except ValueError:
            pass
    return out


def _kill_mid_run(data_dir, rng) -> bool:
    """Start `feast materialize` (one game date per chunk), kill -9 it after a random number of
    checkpointed chunks plus a random fraction of the next; False if it finished first."""
    cmd = support.feast_materialize_cmd(*support.WINDOW)
    proc = subprocess.Popen(cmd, cwd=paths.REPO_ROOT, env=support.env(data_dir, NBAFS_CHUNK_ROWS="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    target = rng.randint(1, 120)  # chunk checkpoints over the four views (about 150 in all)
    try:
        deadline = time.monotonic() + 60
        while sum(c.get("chunks_done", 0) for c in _checkpoints(data_dir)) < target:
            if proc.poll() is not None:
                return False
            assert time.monotonic() < deadline
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.02))  # anywhere in the next chunk: reading, gating, writing, saving
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode == -signal.SIGKILL and not all(c["completed"] for c in _checkpoints(data_dir))


def test_kill_9_at_a_random_moment_then_rerun_equals_an_uninterrupted_run(tmp_path, tmp_path_factory,
                                                                          monkeypatch, clean_store):
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    for attempt in range(4):
        store_dir = support.clone(support.template(tmp_path_factory), tmp_path / f"store{attempt}")
        if _kill_mid_run(store_dir, rng):
            break
    else:
        pytest.fail(f"seed {seed}: feast materialize finished before every kill")
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(store_dir))
    store = support.feature_store()
    store.materialize(*support.WINDOW)  # the same command again
    engine = store._get_provider().batch_engine
    assert engine.last_run.resumed, f"seed {seed}: the rerun did not resume"
    support.assert_same_store(support.dump_all(store), clean_store)
    assert all(c["completed"] for c in _checkpoints(store_dir))


def test_older_range_after_newer_never_goes_back_in_time(store_dir, clean_store):
    store = support.feature_store()
    start, end = support.WINDOW
    store.materialize(MID, end)
    newer = support.dump_all(store)
    store.materialize(start, MID)  # the older window, afterwards
    after = support.dump_all(store)
    for view, frame in newer.items():
        keys = [c for c in frame.columns if c not in ("event_timestamp", "created_timestamp")][:1]
        if view in ("player_points_line", "player_prop_lines"):  # keyed by player and game
            keys = ["player_lookup", "game_id"]
        merged = frame.merge(after[view], on=keys, suffixes=("_newer", "_after"))
        assert len(merged) == len(frame), f"{view}: rows of the newer run disappeared"
        assert (merged["event_timestamp_after"] == merged["event_timestamp_newer"]).all(), (
            f"{view}: an older value replaced a newer one")
        for col in [c for c in frame.columns if c not in keys]:
            a, b = merged[f"{col}_newer"], merged[f"{col}_after"]
            assert ((a == b) | (a.isna() & b.isna())).all(), f"{view}.{col} changed"
    # And the end state is the latest value of every entity: the same as one run of the whole window.
    support.assert_same_store(after, clean_store)


def test_rerunning_a_completed_range_rewrites_it_with_the_same_result(store_dir, clean_store):
    store = support.feature_store()
    store.materialize(*support.WINDOW)
    first = support.dump_all(store)
    cps = FileCheckpointStore(store.project)
    before = {cp.view: cp.updated_at for cp in map(cps.load, first)}
    time.sleep(1.1)  # checkpoint times have one-second resolution
    store.materialize(*support.WINDOW)
    second = support.dump_all(store)
    support.assert_same_store(first, second)
    support.assert_same_store(first, clean_store)
    run = store._get_provider().batch_engine.last_run
    assert run.rows_written > 0 and not run.resumed  # rewritten, not skipped
    assert all(cps.load(v).updated_at != before[v] for v in first)


def test_store_does_not_depend_on_chunk_size(store_dir, clean_store, monkeypatch):
    monkeypatch.setenv("NBAFS_CHUNK_ROWS", "1")  # one game date per chunk
    store = support.feature_store()
    store.materialize(*support.WINDOW)
    run = store._get_provider().batch_engine.last_run
    assert run.chunks > 30
    support.assert_same_store(support.dump_all(store), clean_store)


def test_materialize_incremental_goes_through_the_engine_and_ends_like_one_run(store_dir, clean_store):
    store = support.feature_store()
    start, end = support.WINDOW
    store.materialize(start, MID)
    store.materialize_incremental(end)  # each view from its own last end time
    run = store._get_provider().batch_engine.last_run
    assert run is not None and run.rows_read > 0
    support.assert_same_store(support.dump_all(store), clean_store)


def _materialize_counting_writes(monkeypatch, arrow_writes: bool) -> tuple[dict, dict]:
    """Materialize the whole season with the engine's Arrow writes on or off; (store dump, write calls per path)."""
    store = support.feature_store()
    engine = store._get_provider().batch_engine
    online = engine.online_store
    calls = {"write_arrow": 0, "online_write_batch": 0}
    for method in calls:
        real = getattr(online, method)

        def counted(*args, _real=real, _method=method, **kwargs):
            calls[_method] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(online, method, counted)
    monkeypatch.setattr(engine.config, "arrow_writes", arrow_writes)
    store.materialize(*support.WINDOW)
    return support.dump_all(store), calls


def test_arrow_writes_leave_the_same_online_store_as_feasts_proto_writes(tmp_path, tmp_path_factory, monkeypatch):
    """The engine writes chunks with our store's write_arrow (no protobuf); the online_write_batch
    path (the one any other online store gets) must end with the identical whole store."""
    monkeypatch.setenv("NBAFS_CHUNK_ROWS", "1")  # many chunks: each entity overwritten many times
    dumps = {}
    for arrow in (True, False):
        d = support.clone(support.template(tmp_path_factory), tmp_path / f"arrow-{arrow}")
        monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
        dumps[arrow], calls = _materialize_counting_writes(monkeypatch, arrow)
        used, unused = ("write_arrow", "online_write_batch") if arrow else ("online_write_batch", "write_arrow")
        assert calls[used] > 30 and calls[unused] == 0, calls
    assert sum(len(f) for f in dumps[True].values()) > 0
    support.assert_same_store(dumps[True], dumps[False])
