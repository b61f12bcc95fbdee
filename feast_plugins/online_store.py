"""SQLite online store under NBAFS_DATA_DIR.

STUB for now: Feast's SqliteOnlineStore with the path resolved under the data dir.
(To be replaced by the wide-row, monotonic-write store.)
"""
from __future__ import annotations

from typing import Literal

from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig
from feast.repo_config import RepoConfig

from nbafs import paths


class NbaSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    type: Literal["feast_plugins.online_store.NbaSqliteOnlineStore"] = (  # type: ignore[assignment]
        "feast_plugins.online_store.NbaSqliteOnlineStore"
    )
    path: str = "online_store.db"


class NbaSqliteOnlineStore(SqliteOnlineStore):
    @staticmethod
    def _get_db_path(config: RepoConfig) -> str:
        return str(paths.resolve_in_data_dir(config.online_store.path))
