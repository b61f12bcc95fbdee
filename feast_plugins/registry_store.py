"""A file registry that lives under NBAFS_DATA_DIR.

``feature_store.yaml`` says ``registry: {registry_store_type: ...DataDirRegistryStore,
path: registry.db}``. Feast's own FileRegistryStore resolves a relative path against
the repo; this one resolves it against the data directory, so each store beside
another (``NBAFS_DATA_DIR=/tmp/a feast apply``) has its own registry, and the yaml
needs no environment variable to be valid.
"""
from __future__ import annotations

from pathlib import Path

from feast.infra.registry.file import FileRegistryStore
from feast.repo_config import RegistryConfig

from nbafs import paths


class DataDirRegistryStore(FileRegistryStore):
    def __init__(self, registry_config: RegistryConfig, repo_path: Path):
        super().__init__(registry_config, repo_path)
        self._filepath = paths.resolve_in_data_dir(registry_config.path)
