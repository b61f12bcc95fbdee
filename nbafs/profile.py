"""Which deployment profile is active: the local default or production.

One switch, the environment variable ``NBAFS_PROFILE``:

- ``local`` (default): ``feature_store.yaml``: DuckDB offline store over the parquet
  warehouse under NBAFS_DATA_DIR, SQLite online store, file registry.
- ``prod``: ``feature_store.prod.yaml``: BigQuery offline store and BigQuery sources on
  the same table names (project from ``NBAFS_GCP_PROJECT``), Redis (Memorystore) online
  store, registry in GCS, checkpoints and the store lock in GCS; endpoints and
  credentials from the environment only (``warehouse/gcp.py``,
  ``feast_plugins/redis_online_store.py``), so the same yaml talks to GCP or to the
  stand-ins of ``nbafs stack up``.

The feature definitions (``feature_repo/``) are the same in both; only the data sources'
kind follows the profile (``feature_repo/data_sources.py``). Every ``nbafs`` command and
the Python API open the store through :func:`feature_store`, which reads the profile's
yaml. Feast's own CLI reads the yaml you name: run it as
``NBAFS_PROFILE=prod feast -f feature_store.prod.yaml apply``. The yaml file and the
profile must agree: when ``feast -f feature_store.prod.yaml`` imports the definitions
they follow that yaml, and a contradiction (``NBAFS_PROFILE=prod feast apply`` on the
local yaml) is an error instead of a registry with the wrong sources.
"""
from __future__ import annotations

import os
from pathlib import Path

from nbafs.errors import UserError
from nbafs.paths import REPO_ROOT

PROFILE_ENV = "NBAFS_PROFILE"
YAML_FILES: dict[str, str] = {"local": "feature_store.yaml", "prod": "feature_store.prod.yaml"}


def _from_env() -> str | None:
    raw = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not raw:
        return None
    if raw not in YAML_FILES:
        raise UserError(
            f"{PROFILE_ENV}={os.environ[PROFILE_ENV]!r} is not a profile; expected one of "
            f"{', '.join(YAML_FILES)} (unset means local)."
        )
    return raw


def _feast_cli_yaml() -> Path | None:
    """The yaml the running ``feast`` command reads, when we are imported by it."""
    try:
        import click
    except ImportError:  # pragma: no cover - click comes with feast
        return None
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    obj = ctx.find_root().obj
    if isinstance(obj, dict) and obj.get("FS_YAML_FILE"):
        return Path(obj["FS_YAML_FILE"])
    return None


def _profile_of_yaml(path: Path) -> str | None:
    for name, file_name in YAML_FILES.items():
        if path.name == file_name:
            return name
    return None


def active() -> str:
    """The active profile: ``local`` or ``prod`` (see the module docstring)."""
    env = _from_env()
    cli_yaml = _feast_cli_yaml()
    yaml_profile = _profile_of_yaml(cli_yaml) if cli_yaml else None
    if yaml_profile and env and yaml_profile != env:
        raise UserError(
            f"{PROFILE_ENV}={env} but feast is reading {cli_yaml.name} (the {yaml_profile} profile). "
            f"Run `NBAFS_PROFILE={env} feast -f {YAML_FILES[env]} ...` or unset {PROFILE_ENV}."
        )
    return yaml_profile or env or "local"


def yaml_path(profile: str | None = None) -> Path:
    """The feature_store yaml of a profile (the active one by default)."""
    return REPO_ROOT / YAML_FILES[profile or active()]


def feature_store(profile: str | None = None):
    """A Feast ``FeatureStore`` for the repo, configured by the profile's yaml."""
    from feast import FeatureStore

    return FeatureStore(repo_path=str(REPO_ROOT), fs_yaml_file=yaml_path(profile))
