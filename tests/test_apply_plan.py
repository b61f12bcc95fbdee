"""`feast apply` works from the repo root on an empty store, and a second `feast plan` plans nothing.

Run as a user would: Feast's own CLI in a subprocess, from the repository root, with a
fresh NBAFS_DATA_DIR and no warehouse table yet (a fresh clone). After the apply, a plan
must report no change at all, registry and infrastructure (stock Feast's `feast init`
template fails this: its push source shows up as "Updated" on every plan). The registry
stores the sources' paths relative to the data directory, so it is the same whichever
data directory is in use.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from nbafs import paths

FEAST = str(Path(sys.executable).parent / "feast")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def feast(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, paths.DATA_DIR_ENV: str(data_dir)}
    env.pop("NBAFS_PROFILE", None)
    proc = subprocess.run([FEAST, *args], cwd=paths.REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    proc.stdout = ANSI.sub("", proc.stdout)
    return proc


def test_apply_on_an_empty_store_then_plan_shows_nothing_to_change(tmp_path, monkeypatch):
    data_dir = tmp_path / "fresh"
    applied = feast("apply", data_dir=data_dir)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (data_dir / "registry.db").exists(), "the registry follows NBAFS_DATA_DIR"
    assert not (paths.REPO_ROOT / "registry.db").exists()

    plan = feast("plan", data_dir=data_dir)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes to registry" in plan.stdout, plan.stdout
    assert "No changes to infrastructure" in plan.stdout, plan.stdout
    for word in ("Created", "Updated", "Deleted"):
        assert word not in plan.stdout, plan.stdout

    from feast import FeatureStore, FileSource

    from nbafs.profile import yaml_path

    monkeypatch.setenv(paths.DATA_DIR_ENV, str(data_dir))
    store = FeatureStore(repo_path=str(paths.REPO_ROOT), fs_yaml_file=yaml_path("local"))
    files = [s for s in store.list_data_sources() if isinstance(s, FileSource)]
    assert len(files) == 4 and all(s.path.startswith("warehouse/") for s in files), [s.path for s in files]
    assert store.get_feature_service("player_points_v1")
