"""BigQuery offline store whose clients come from ``warehouse.gcp`` (GCP or the local emulator).

``feature_store.prod.yaml`` names ``feast_plugins.bigquery_offline_store.NbaBigQueryOfflineStore``.
It is Feast's ``BigQueryOfflineStore`` with one change: every BigQuery client it uses
comes from :func:`warehouse.gcp.bigquery_client`, so the same yaml talks to Google or
to the stand-in emulator (``BIGQUERY_EMULATOR_HOST``) and reads results through the
Storage Read API either way. Feast has no endpoint option: its store gets every client
from the module function ``feast.infra.offline_stores.bigquery._get_bigquery_client``.
How we redirect it: the methods here are Feast's own functions, re-created with that
one global name bound to ours (``_rebind``); Feast's module is not modified, so the
stock ``bigquery`` store in the same process is unaffected. tests/test_bigquery_offline_store.py
pins the Feast behaviour this relies on.

Feast's ``BigQuerySource.validate`` and ``get_table_column_names_and_types`` build a
bare ``bigquery.Client()``; the store's hooks for them (``validate_data_source``,
``get_table_column_names_and_types_from_data_source``) use ours instead.

Config (``offline_store:`` in the yaml): Feast's fields. ``project_id`` must be set
(``${NBAFS_GCP_PROJECT}``); ``location`` defaults to ``NBAFS_BIGQUERY_LOCATION`` (US);
``dataset`` is the staging dataset for uploaded entity dataframes, which Feast creates
on first use (``get_historical_features``) in that location. ``gcs_staging_location``
is not supported (``to_remote_storage`` would build a GCS client of its own).

Pushed rows for a warehouse table (``offline_write_batch``) are merged into it by its
grain through the warehouse seam, as in the local store
(``feast_plugins.offline_store.merge_pushed_rows``); other tables get Feast's append.
"""
from __future__ import annotations

import copy
import types
from typing import Iterable, Literal, Optional, Tuple

from pydantic import model_validator

from feast.data_source import DataSource
from feast.infra.offline_stores import bigquery as feast_bigquery
from feast.infra.offline_stores.bigquery import BigQueryOfflineStore, BigQueryOfflineStoreConfig
from feast.infra.offline_stores.bigquery_source import BigQuerySource
from feast.repo_config import RepoConfig

from feast_plugins.env import expanded
from nbafs.errors import UserError
from warehouse import gcp

CLASS_PATH = "feast_plugins.bigquery_offline_store.NbaBigQueryOfflineStore"
CLIENT_FUNCTION = "_get_bigquery_client"  # the name Feast's module resolves its clients by


class NbaBigQueryOfflineStoreConfig(BigQueryOfflineStoreConfig):
    type: Literal["feast_plugins.bigquery_offline_store.NbaBigQueryOfflineStore"] = CLASS_PATH  # type: ignore[assignment]

    @model_validator(mode="after")
    def _from_environment(self):
        if not self.project_id:
            raise UserError(f"offline_store.project_id is not set in the yaml: set it to ${{{gcp.PROJECT_ENV}}}.")
        expanded(self.project_id, "offline_store.project_id")
        if self.billing_project_id:
            expanded(self.billing_project_id, "offline_store.billing_project_id")
        if not self.location:
            self.location = gcp.location()
        if self.gcs_staging_location:
            raise UserError(
                "offline_store.gcs_staging_location is not supported by NbaBigQueryOfflineStore (Feast's export "
                "to GCS builds a client of its own, which would bypass the environment's endpoints): remove it."
            )
        return self


def _client(project: Optional[str] = None, location: Optional[str] = None, data_source=None):
    """Stands in for Feast's ``_get_bigquery_client(project, location, data_source)``."""
    return gcp.bigquery_client(project, location)


def _rebind_namespace() -> dict:
    """Feast's bigquery module namespace with ``_get_bigquery_client`` bound to :func:`_client`.

    Every module function that gets a client (directly or through another one, e.g. the
    monitoring helpers) is re-created in this namespace, so calls between them stay in it.
    """
    namespace = dict(vars(feast_bigquery))
    namespace[CLIENT_FUNCTION] = _client
    for name, value in list(namespace.items()):
        if isinstance(value, types.FunctionType) and value.__module__ == feast_bigquery.__name__ and name != CLIENT_FUNCTION:
            namespace[name] = _rebind(value, namespace)
    return namespace


def _rebind(func: types.FunctionType, namespace: dict) -> types.FunctionType:
    """The same code, defaults and closure as ``func``, resolving globals in ``namespace``."""
    new = types.FunctionType(func.__code__, namespace, func.__name__, func.__defaults__, func.__closure__)
    new.__kwdefaults__ = func.__kwdefaults__
    new.__qualname__ = func.__qualname__
    new.__doc__ = func.__doc__
    new.__wrapped__ = func
    return new


_NAMESPACE = _rebind_namespace()


class NbaBigQueryOfflineStore(BigQueryOfflineStore):
    """Feast's BigQuery offline store on the project's clients (see the module docstring)."""

    @staticmethod
    def validate_data_source(config: RepoConfig, data_source: DataSource):
        from google.api_core.exceptions import NotFound
        from feast.errors import DataSourceNotFoundException

        table = getattr(data_source, "table", None)
        if not table or getattr(data_source, "query", None):
            return data_source.validate(config=config)
        try:
            _store_client(config).get_table(table)
        except NotFound:
            raise DataSourceNotFoundException(table) from None

    @staticmethod
    def get_table_column_names_and_types_from_data_source(
        config: RepoConfig, data_source: DataSource
    ) -> Iterable[Tuple[str, str]]:
        table = getattr(data_source, "table", None)
        client = _store_client(config)
        if getattr(data_source, "query", None):
            schema = client.query(f"SELECT * FROM ({data_source.query}) LIMIT 0").result().schema
        elif table:
            schema = client.get_table(table).schema
        else:
            raise UserError(f"data source {data_source.name!r} names neither a BigQuery table nor a query.")
        return [(f.name, f"ARRAY<{f.field_type}>" if f.mode == "REPEATED" else f.field_type) for f in schema]


class _SourceOnOurClient(BigQuerySource):
    """A BigQuerySource whose column lookup uses the store's client (for ``offline_write_batch``)."""

    def get_table_column_names_and_types(self, config: RepoConfig) -> Iterable[Tuple[str, str]]:
        return NbaBigQueryOfflineStore.get_table_column_names_and_types_from_data_source(config, self)


def _store_client(config: RepoConfig):
    store = config.offline_store
    return _client(store.billing_project_id or store.project_id, store.location)


def rebound_methods() -> list[str]:
    """The names of Feast's BigQueryOfflineStore methods that this class runs rebound."""
    return [name for name, value in vars(BigQueryOfflineStore).items()
            if isinstance(value, staticmethod) and isinstance(value.__func__, types.FunctionType)]


# Every static method Feast's class defines, re-created to resolve its client through _client.
for _name in rebound_methods():
    setattr(NbaBigQueryOfflineStore, _name, staticmethod(_rebind(vars(BigQueryOfflineStore)[_name].__func__, _NAMESPACE)))
del _name
_feast_offline_write_batch = NbaBigQueryOfflineStore.offline_write_batch


def _offline_write_batch(config: RepoConfig, feature_view, table, progress):
    # A warehouse table (a push source's batch source) takes pushed rows by its grain, through the
    # warehouse seam as locally: Feast's load job only appends, so a row pushed twice would be
    # stored twice, and a later push of a snapshot could not replace an earlier push of it.
    from feast_plugins.offline_store import merge_pushed_rows
    from warehouse.columns import is_declared

    if feature_view.batch_source is not None and is_declared(feature_view.batch_source.name):
        merge_pushed_rows(feature_view, table)
        return
    # Feast's method reads the table's columns with BigQuerySource.get_table_column_names_and_types,
    # which builds a bare bigquery.Client(): hand it a copy of the view whose source asks ours.
    view = copy.copy(feature_view)
    source = copy.copy(feature_view.batch_source)
    if type(source) is BigQuerySource:
        source.__class__ = _SourceOnOurClient
    view.batch_source = source
    return _feast_offline_write_batch(config, view, table, progress)


NbaBigQueryOfflineStore.offline_write_batch = staticmethod(_offline_write_batch)
_feast_write_logged_features = NbaBigQueryOfflineStore.write_logged_features
_LOG_DATASETS: set[str] = set()  # log datasets this process has made sure of


def _write_logged_features(config: RepoConfig, data, source, logging_config, registry):
    # Feast's load job creates the log table (partitioned by day of __log_timestamp) but not its
    # dataset: create the dataset first, in the store's location, as our other writers do.
    table = getattr(logging_config.destination, "table", None) or ""
    dataset = table.rsplit(".", 1)[0] if table.count(".") == 2 else None
    if dataset and dataset not in _LOG_DATASETS:
        from google.cloud import bigquery

        ref = bigquery.Dataset(dataset)
        ref.location = config.offline_store.location
        _store_client(config).create_dataset(ref, exists_ok=True)
        _LOG_DATASETS.add(dataset)
    return _feast_write_logged_features(config, data, source, logging_config, registry)


NbaBigQueryOfflineStore.write_logged_features = staticmethod(_write_logged_features)
_feast_get_historical_features = NbaBigQueryOfflineStore.get_historical_features


def _get_historical_features(config, feature_views, feature_refs, entity_df, registry, project,
                             full_feature_names=False, **kwargs):
    # A service's features in its declared order (feast_plugins/declared_order.py), as locally.
    from feast_plugins import declared_order

    job = _feast_get_historical_features(config, feature_views, feature_refs, entity_df, registry, project,
                                         full_feature_names, **kwargs)
    return declared_order.wrap(job, registry, project, feature_refs, full_feature_names)


NbaBigQueryOfflineStore.get_historical_features = staticmethod(_get_historical_features)
