"""Shared setup for the engine, gate, preflight and backfill tests (not a test module).

A small generated season (6 teams, 20 games each: 33 game days) is generated,
transformed and applied once per test session into a template data directory; each
test copies it (``clone``) so tests never see each other's stores. Everything is the
real thing: sample season generator, SQL transformations, feature_repo/, our offline
store, online store and batch engine, a real registry.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from nbafs import paths

TEAMS, GAMES = 6, 20
UTC = dt.timezone.utc
# The whole sample season's event times (first game 2025-10-21, last box score known 2025-12-03).
WINDOW = (dt.datetime(2025, 10, 20, tzinfo=UTC), dt.datetime(2025, 12, 6, tzinfo=UTC))
BIN = Path(sys.executable).parent


def build_template(directory: Path) -> Path:
    """Generate, transform and apply the small season into ``directory``."""
    from nbafs.demo import feast_apply
    from transformations import runner
    from warehouse.sample_season import generate

    old = os.environ.get(paths.DATA_DIR_ENV)
    os.environ[paths.DATA_DIR_ENV] = str(directory)
    cwd = os.getcwd()
    try:
        generate(n_teams=TEAMS, games_per_team=GAMES)
        runner.run(progress=None)
        feast_apply()
    finally:
        os.chdir(cwd)
        if old is None:
            os.environ.pop(paths.DATA_DIR_ENV, None)
        else:
            os.environ[paths.DATA_DIR_ENV] = old
    return directory


_TEMPLATE: Path | None = None


def template(tmp_path_factory) -> Path:
    """The session's template data directory (built on first use, shared by every module)."""
    global _TEMPLATE
    if _TEMPLATE is None or not _TEMPLATE.exists():
        _TEMPLATE = build_template(tmp_path_factory.mktemp("small-season-template"))
    return _TEMPLATE


def clone(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


def feature_store():
    from nbafs.profile import feature_store as fs

    return fs()


def dump_all(store) -> dict:
    """Every row of every feature view in the online store, as sorted DataFrames."""
    online = store._get_provider().online_store
    return {fv.name: online.dump(store.config, fv) for fv in store.list_feature_views()}


def assert_same_store(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        left, right = a[name], b[name]
        assert len(left) == len(right), f"{name}: {len(left)} rows vs {len(right)}"
        assert left.equals(right), f"{name}: online rows differ\n{left.compare(right)}"


def online_row_count(data_dir: Path) -> int:
    db = data_dir / "online_store.db"
    if not db.exists():
        return 0
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return sum(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    finally:
        con.close()


def rewrite_partitions(dataset: str, table: str, change) -> int:
    """Apply ``change(pa.Table) -> pa.Table`` to every partition file of a table, in place."""
    files = sorted(paths.table_dir(dataset, table).glob("*.parquet"))
    for f in files:
        pq.write_table(change(pq.read_table(f)), f)
    return len(files)


def rename_column(old: str, new: str):
    def change(t: pa.Table) -> pa.Table:
        return t.rename_columns([new if c == old else c for c in t.column_names])

    return change


def env(data_dir: Path, **extra: str) -> dict:
    e = dict(os.environ)
    e[paths.DATA_DIR_ENV] = str(data_dir)
    e["NBAFS_PROGRESS"] = "plain"
    e.update(extra)
    return e


def nbafs_cmd(*args: str) -> list[str]:
    return [str(BIN / "nbafs"), *args]


def feast_materialize_cmd(start: dt.datetime, end: dt.datetime) -> list[str]:
    return [str(BIN / "feast"), "materialize", start.strftime("%Y-%m-%dT%H:%M:%S"), end.strftime("%Y-%m-%dT%H:%M:%S")]


def run(cmd: list[str], data_dir: Path, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=paths.REPO_ROOT, env=env(data_dir, **extra), capture_output=True,
                          text=True, timeout=timeout)
