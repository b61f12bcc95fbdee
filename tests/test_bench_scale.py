"""bench/bench_scale.py: its help, its seasons, and the harness end to end on a tiny league (no timing asserted)."""
from __future__ import annotations

import json
import subprocess
import sys

from bench import bench_scale
from nbafs import paths


def test_help_names_the_steps_and_the_goals():
    run = subprocess.run([sys.executable, "-m", "bench.bench_scale", "--help"], cwd=paths.REPO_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    for word in ("transform rerun", "backfill", "retrieval", "slate", "--work-dir", "--fresh", "peak RSS"):
        assert word in run.stdout


def test_the_last_n_seasons_end_with_the_last_one():
    assert bench_scale.season_labels(1, "2025-26") == ["2025-26"]
    assert bench_scale.season_labels(3, "2025-26") == ["2023-24", "2024-25", "2025-26"]
    ten = bench_scale.season_labels(10, "2025-26")
    assert (ten[0], ten[-1], len(ten)) == ("2016-17", "2025-26", 10)
    assert bench_scale.season_labels(2, "1999-00") == ["1998-99", "1999-00"]


def test_tiny_run_measures_every_step_and_writes_json_and_chart(tmp_path):
    run = subprocess.run([sys.executable, "-m", "bench.bench_scale", "--tiny", "--seasons", "1", "--out", str(tmp_path)],
                         cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "goal at 1 seasons" in run.stdout
    result = json.loads((tmp_path / "bench_scale.json").read_text())
    assert (tmp_path / "bench_scale.png").stat().st_size > 0
    one = result["runs"]["1"]
    assert set(one["steps"]) == set(bench_scale.STEPS)
    for step, r in one["steps"].items():
        assert r["seconds"] > 0 and r["peak_rss_mb"] > 50, (step, r)
    assert one["steps"]["retrieval"]["rows"] > 0 and one["steps"]["slate"]["players"] > 0
    assert {"transform", "materialize"} <= set(one["steps"]["backfill"]["phases"])
    # the warehouse is as the transform left it: the backfill skips the transform, --retransform runs it
    assert one["steps"]["backfill"]["transform_rows"] == 0
    assert one["steps"]["backfill retransform"]["transform_rows"] > 0
    assert one["warehouse"]["files"] > 0 and sum(one["derived_rows"].values()) > 0
    assert [g["met"] in (True, False) for g in result["goals"]] == [True] * len(bench_scale.GOALS)
