"""``nbafs backfill`` end to end on a small generated season: report, resume after kill -9, two runs at once.

Protects: one command runs preflight, transform, materialize (our engine, through
FeatureStore) and verify, and leaves a JSON and an HTML report with per-date charts; a
backfill killed at a random moment and run again ends with the online store of an
uninterrupted backfill; two backfills on the same store never interleave (one refuses
with --no-wait, the other waits and says so) and the store ends consistent.
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

from feature_repo.feature_views import FEATURE_VIEWS
from materialize import backfill, lock
from nbafs import paths
from tests import backfill_support as support

START, END = dt.date(2025, 10, 21), dt.date(2025, 12, 2)


@pytest.fixture
def store_dir(small_store, monkeypatch):
    monkeypatch.setenv("NBAFS_PROGRESS", "plain")
    return small_store


@pytest.fixture(scope="module")
def clean_backfill(tmp_path_factory):
    """The online store after one uninterrupted backfill of START..END (built once per module)."""
    d = support.clone(support.template(tmp_path_factory), tmp_path_factory.mktemp("clean") / "store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        mp.setenv("NBAFS_PROGRESS", "off")
        backfill.backfill(START, END)
        return support.dump_all(support.feature_store())


def test_backfill_runs_every_phase_and_writes_the_report(store_dir, capsys):
    # the copied store is as its transform left it: --retransform, so that the transform runs
    rep = backfill.backfill(START, END, retransform=True, print_report=True)
    assert rep.status == "ok"
    assert [p.name for p in rep.phases] == ["preflight", "transform", "setup", "materialize", "verify"]
    assert rep.transform["nba_precompute.player_composite_factors"] > 0
    mat = rep.phase("materialize")
    assert mat.rows == rep.rows_materialized > 0
    assert set(rep.views) == set(FEATURE_VIEWS)
    assert rep.verify and not any(r["problems"] for r in rep.verify)
    assert rep.window == ("2025-10-21T00:00:00+00:00", "2025-12-03T06:00:00+00:00")
    # Per-date gate figures for the charts, for every game date with games.
    spike_days = [d for d, f in rep.gates.items() if "usage_spike_score" in f]
    assert len(spike_days) >= len(rep.verify) - 2

    data = json.loads((store_dir / "reports" / "backfill_2025-10-21_2025-12-02.json").read_text())
    assert data["status"] == "ok" and data["gates"] and data["verify"]
    page = (store_dir / "reports" / "backfill_2025-10-21_2025-12-02.html").read_text()
    assert page.count("<img ") == 2 and "data:image/png;base64," in page
    assert "usage_spike_score" in page and "Coverage" in page

    screen = capsys.readouterr()
    assert "nbafs backfill 2025-10-21 .. 2025-12-02: ok" in screen.out
    assert "report (html):" in screen.out
    assert "materialize:" in screen.err and "rows/s" in screen.err  # plain progress lines off a terminal


def test_kill_9_at_a_random_moment_of_a_backfill_then_rerun_equals_a_clean_backfill(store_dir, clean_backfill):
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    cmd = support.nbafs_cmd("backfill", "--start", str(START), "--end", str(END), "--chunk-rows", "150")
    killed = False
    for attempt in range(3):
        proc = subprocess.Popen(cmd, cwd=paths.REPO_ROOT, env=support.env(store_dir), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        delay = rng.uniform(1.0, 6.0) / (attempt + 1)  # from process start: any phase, mostly materialize
        try:
            proc.wait(delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            killed = True
            break
    assert killed, f"seed {seed}: every backfill finished before the kill"
    rep = backfill.backfill(START, END)  # the same command again
    assert rep.status == "ok"
    support.assert_same_store(support.dump_all(support.feature_store()), clean_backfill)


def test_two_backfills_at_once_one_refuses_one_waits_and_the_store_stays_consistent(store_dir, clean_backfill):
    args = ("backfill", "--start", str(START), "--end", str(END))
    first = subprocess.Popen(support.nbafs_cmd(*args, "--chunk-rows", "1"), cwd=paths.REPO_ROOT,
                             env=support.env(store_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while (lock.FileLock().holder() or {}).get("pid") != first.pid:
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        refused = support.run(support.nbafs_cmd(*args, "--no-wait"), store_dir, timeout=60)
        assert refused.returncode == 1
        assert "is busy" in refused.stderr and f"pid {first.pid}" in refused.stderr
        assert "nbafs backfill" in refused.stderr  # says who holds it
        waiting = subprocess.Popen(support.nbafs_cmd(*args), cwd=paths.REPO_ROOT, env=support.env(store_dir),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out2, err2 = waiting.communicate(timeout=180)
        out1, err1 = first.communicate(timeout=180)
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()
    assert first.returncode == 0, err1
    assert waiting.returncode == 0, err2
    assert f"waiting for nbafs backfill {START}..{END} (pid {first.pid}" in err2
    assert "ok" in out1 and "ok" in out2
    support.assert_same_store(support.dump_all(support.feature_store()), clean_backfill)


def test_a_store_without_its_online_tables_is_a_clean_error_naming_feast_apply(store_dir, capsys, monkeypatch):
    """The registry knows the views but online_store.db was deleted: one error line saying what to run, no traceback."""
    from nbafs import cli

    for suffix in ("", "-wal", "-shm"):
        (store_dir / f"online_store.db{suffix}").unlink(missing_ok=True)
    monkeypatch.setattr("sys.argv", ["nbafs", "backfill", "--start", str(START), "--end", str(START)])
    assert cli.main() == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"nbafs backfill: error: online store {store_dir / 'online_store.db'} has no table for feature view" in err
    assert "run `feast apply`" in err
