"""bench/bench_serve.py in its tiny mode: the harness runs end to end (no timing asserted).

One run of ``python -m bench.bench_serve --tiny`` (a small league, its own stand-ins,
four ``feast serve`` processes, one client, loops of a couple of seconds) must exit 0
and write a JSON and a PNG with a load result for every store and request kind, no
failed request, the same values from both of our stores, and the in-process breakdown.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import bench_serve
from nbafs import paths
from nbafs.profile import PROFILE_ENV

pytestmark = pytest.mark.prod


def test_tiny_run_measures_every_store_and_writes_json_and_chart(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}
    run = subprocess.run([sys.executable, "-m", "bench.bench_serve", "--tiny", "--out", str(tmp_path)],
                         cwd=paths.REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Where a" in run.stdout and "Goal:" in run.stdout

    result = json.loads((tmp_path / "bench_serve.json").read_text())
    assert (tmp_path / "bench_serve.png").stat().st_size > 0
    assert result["stores"] == list(bench_serve.STORES)
    assert result["slate"]["players"] > 1
    for store in bench_serve.STORES:
        for kind in bench_serve.KINDS:
            load = result["loads"][bench_serve.key(store, 1, kind, 1)]
            assert load["requests"] > 0 and load["errors"] == 0, load
            assert load["p50_ms"] <= load["p99_ms"]
        for kind in bench_serve.KINDS:
            assert set(result["breakdown"][kind][store]) >= {"parse", "read", "on_demand", "to_dict", "json_dumps"}
    assert result["checks"]["ours-redis/1w"]["vs_ours-sqlite"] == "same values"
