"""Shared fixtures.

- ``data_dir``: a fresh NBAFS_DATA_DIR under pytest's tmp_path for one test, so tests
  never touch the user's data/ and never see each other's tables.
- ``real_data``: the path to ../shared/data/nba_2025_26; tests that take it are skipped
  when the real season is not beside the repository.
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
