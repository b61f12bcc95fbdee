"""`NBAFS_PROFILE=prod nbafs demo` (what `make prod-demo` runs) on the stand-ins equals the local demo.

Both run as a user runs them, as commands, on the same small league and seed: the
production one exits 0, prints the same summary (steps, baselines, skew 0 mismatches,
charts) and saves the same training-set fingerprint as the local one: the same
training set, built on BigQuery and served from Redis.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbafs import paths
from nbafs.profile import PROFILE_ENV

SMALL = ["demo", "--teams", "6", "--games-per-team", "20", "--seed", "5", "--no-effect"]
MARKETS = ("points", "rebounds", "assists", "threes", "pra")
NBAFS = str(Path(sys.executable).parent / "nbafs")


def _demo(env: dict[str, str]) -> tuple[str, dict]:
    """The demo's output, its data dir written as <data dir> (the two runs have their own), and its fingerprints.

    A wide console keeps each step on one line, so the paths are whole where they are replaced."""
    done = subprocess.run([NBAFS, *SMALL], cwd=paths.REPO_ROOT,
                          env={**env, "NBAFS_PROGRESS": "plain", "COLUMNS": "400"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data_dir = env[paths.DATA_DIR_ENV]
    models = Path(data_dir) / "models"
    fingerprints = {m: json.loads((models / f"player_{m}_v1" / "fingerprint.json").read_text()) for m in MARKETS}
    return done.stdout.replace(data_dir, "<data dir>"), fingerprints


@pytest.mark.prod
def test_prod_demo_prints_the_local_summary_and_trains_on_the_same_training_set(prod_env, tmp_path):
    local_env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}
    local_env[paths.DATA_DIR_ENV] = str(tmp_path / "local")
    local_out, local_fp = _demo(local_env)
    prod_out, prod_fp = _demo(dict(os.environ))
    for text in ("Steps", "MAE per market", "Against the books", "slate, every market", "Skew check",
                 "0 mismatches", "Charts"):
        assert text in prod_out, text
    assert prod_fp == local_fp, "the production demo trained some market on another training set"
    assert all(fp["rows"] > 500 for fp in prod_fp.values())

    def steps(out: str) -> list[str]:
        """Each step's text in the summary without its time, wrapped lines joined (the wrap moves with the
        width of the times' column)."""
        texts: list[str] = []
        for line in out.splitlines():
            if not (line.startswith("│") and line.count("│") == 4):
                continue
            text = line.split("│")[3].strip()
            if "s │" in line:
                texts.append(text)
            elif texts and text:
                texts[-1] += " " + text
        return [" ".join(t.split()) for t in texts]
    assert steps(prod_out) == steps(local_out), "the production summary says something else"
