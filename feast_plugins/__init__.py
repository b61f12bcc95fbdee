"""Feast extension classes that feature_store.yaml names by class path.

- ``registry_store.DataDirRegistryStore``: the registry file under NBAFS_DATA_DIR.
- ``offline_store.NbaDuckDBOfflineStore``: DuckDB offline store over the parquet
  warehouse, paths resolved under NBAFS_DATA_DIR, point-in-time joins as ASOF joins.
- ``online_store.NbaSqliteOnlineStore``: SQLite online store, one wide row per entity
  and feature view, writes that never go back in time. Its read path is split in
  ``online_request.py`` (entity rows -> keys), ``online_serving.py`` (the response) and
  ``online_values.py`` (how values are stored and framed as protobuf).

The batch engine lives in ``materialize/engine.py`` (backfills are its concern).
May import: nbafs, warehouse, feature_repo.catalog. Not: serving, model, materialize.
"""
