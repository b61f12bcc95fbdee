"""Feast extension classes that feature_store.yaml and feature_store.prod.yaml name by class path.

Local profile:

- ``registry_store.DataDirRegistryStore``: the registry file under NBAFS_DATA_DIR.
- ``offline_store.NbaDuckDBOfflineStore``: DuckDB offline store over the parquet
  warehouse, paths resolved under NBAFS_DATA_DIR, point-in-time joins as ASOF joins.
- ``online_store.NbaSqliteOnlineStore``: SQLite online store, one wide row per entity
  and feature view, writes that never go back in time. Its read path is split in
  ``online_request.py`` (entity rows -> keys), ``online_serving.py`` (the response) and
  ``online_values.py`` (how values are stored and framed as protobuf).

Production profile (endpoints and credentials from the environment, ``warehouse/gcp.py``):

- ``registry_store.NbaGCSRegistryStore``: the registry object in GCS, clear errors.
- ``bigquery_offline_store.NbaBigQueryOfflineStore``: Feast's BigQuery store on our clients.
- ``redis_online_store.NbaRedisOnlineStore``: Memorystore for Redis, the local store's
  monotonic write rule. ``env.py`` names an unset ``${VAR}`` of the yaml.

``feature_server.py`` is ``feast serve``'s ``/get-online-features`` for both stores (the
staleness rule's 4xx errors, the response encoded from our read path's values).

The batch engine lives in ``materialize/engine.py`` (backfills are its concern).
May import: nbafs, warehouse, feature_repo.catalog. Not: serving, model, materialize.
"""
from nbafs.errors import clean_user_errors_under_feast_cli

# The feast CLI imports this package while loading the yaml: the only point where our code
# runs before `feast serve` builds its app. Both calls are no-ops in other programs' use.
clean_user_errors_under_feast_cli()


def _install_feature_server() -> None:
    from feast_plugins import feature_server

    feature_server.install()


_install_feature_server()
