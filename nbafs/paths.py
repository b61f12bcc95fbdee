"""Where things live on disk.

Every command honours ``NBAFS_DATA_DIR`` (default ``data/`` at the repository root), so
several stores can live side by side. A relative ``NBAFS_DATA_DIR`` is taken relative
to the current directory, as a user typing it in a shell expects.

Layout under the data directory::

    warehouse/<dataset>/<table>/<YYYY-MM>.parquet     one file per table and month (warehouse/storage.py)
    registry.db                                       Feast registry
    online_store.db                                   SQLite online store
    checkpoints/  reports/  models/  locks/
    checkpoints/transform.json                        what the last local transform left (transformations/freshness.py)
    cache/                                            transpiled SQL and the columns it reads (nbafs/disk_cache.py)
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "NBAFS_DATA_DIR"


def data_dir() -> Path:
    """The data directory for this process (created on first use)."""
    raw = os.environ.get(DATA_DIR_ENV)
    path = Path(raw).expanduser().resolve() if raw else REPO_ROOT / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def warehouse_dir() -> Path:
    return data_dir() / "warehouse"


def table_dir(dataset: str, table: str) -> Path:
    return warehouse_dir() / dataset / table


def reports_dir() -> Path:
    p = data_dir() / "reports"
    p.mkdir(parents=True, exist_ok=True)
    return p


def models_dir() -> Path:
    p = data_dir() / "models"
    p.mkdir(parents=True, exist_ok=True)
    return p


def checkpoints_dir() -> Path:
    p = data_dir() / "checkpoints"
    p.mkdir(parents=True, exist_ok=True)
    return p


def resolve_in_data_dir(path: str | os.PathLike) -> Path:
    """Absolute paths stay as they are; relative ones are taken under the data dir.

    Feast stores the paths of our registry, online store and file sources relative, so
    the registry is the same whichever data directory is in use.
    """
    p = Path(path)
    return p if p.is_absolute() else data_dir() / p
