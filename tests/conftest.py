"""Shared fixtures.

- ``data_dir``: a fresh NBAFS_DATA_DIR under pytest's tmp_path for one test, so tests
  never touch the user's data/ and never see each other's tables.
- ``small_store``: NBAFS_DATA_DIR a copy of the session's small generated season, transformed
  and applied (tests/backfill_support.py), files with their times.
- ``real_data``: the path to ../shared/data/nba_2025_26; tests that take it are skipped
  when the real season is not beside the repository.
- ``stack``: the local stand-ins for production (BigQuery emulator, GCS emulator,
  redis-server), started once per session under a tmp dir and stopped by pid at the end.
  One that cannot start fails the tests that need it: never a skip.
- ``prod_env``: for one production test: NBAFS_PROFILE=prod, the stack's variables, a
  fresh NBAFS_DATA_DIR, a GCP project and a GCS bucket of its own, an empty Redis.
  Returns the variables it set.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from nbafs import paths

REAL_DATA = paths.REPO_ROOT.parent / "shared" / "data" / "nba_2025_26"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "nbafs-data"
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    return paths.data_dir()


@pytest.fixture
def small_store(tmp_path, tmp_path_factory, monkeypatch) -> Path:
    from tests import backfill_support as support

    d = support.clone(support.template(tmp_path_factory), tmp_path / "store")
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    return d


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    from nbafs import stack as stack_mod

    directory = tmp_path_factory.mktemp("stack")
    try:
        running = stack_mod.start(directory, timeout=120, log=lambda msg: None)
    except stack_mod.StackError as exc:
        pytest.fail(f"the production stand-ins did not start: {exc}", pytrace=False)
    yield running
    stack_mod.stop(running)


@pytest.fixture
def prod_env(stack, tmp_path, monkeypatch):
    from feast_plugins import feature_log
    from tests.stack_support import prod_environment

    yield prod_environment(stack, tmp_path, monkeypatch)
    # Served rows buffered by the test are written while its stand-ins' variables are still set.
    feature_log.flush_at_shutdown()


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "realgm_player_game_logs.csv").exists():
        pytest.skip(f"real 2025-26 data not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def _real_warehouse_built(real_data, tmp_path_factory) -> Path:
    """The real 2025-26 season imported and transformed once per test session."""
    from warehouse.importers import import_paths
    from transformations.runner import run as transform

    d = tmp_path_factory.mktemp("real-warehouse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        import_paths([real_data], progress=None)
        transform(progress=None)
    return d


@pytest.fixture
def real_warehouse(_real_warehouse_built, monkeypatch) -> Path:
    """NBAFS_DATA_DIR pointing at the real season, imported and transformed (whole range).

    Built once per session and shared: tests using it must only read it (never import,
    transform or write into it). Skipped when the real data is absent.
    """
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(_real_warehouse_built))
    return _real_warehouse_built
