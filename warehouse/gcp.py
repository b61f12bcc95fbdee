"""Clients for Google Cloud (BigQuery, its Storage Read API, GCS), configured from the environment.

The one place that knows how the production profile reaches GCP (and declares the names
of the environment variables that point at it, Memorystore's included), so the same code talks
to Google or to the local stand-ins (``nbafs stack up``) depending on the environment
only:

    NBAFS_GCP_PROJECT                       project holding nba_raw / nba_analytics / nba_precompute
    NBAFS_BIGQUERY_LOCATION                 dataset location (default US)
    GOOGLE_APPLICATION_CREDENTIALS          service-account key file (or the machine's default credentials)
    BIGQUERY_EMULATOR_HOST                  http://host:port of a BigQuery emulator (stand-in only)
    NBAFS_BIGQUERY_STORAGE_EMULATOR_HOST    host:port of its Storage Read gRPC endpoint (stand-in only)
    STORAGE_EMULATOR_HOST                   http://host:port of a GCS emulator (stand-in only)

With an emulator variable set, the client uses anonymous credentials, and the Storage
Read client an insecure gRPC channel with no message size limit (one season's result
is larger than gRPC's 4 MB default). ``bigquery_client()`` is cached per environment.
"""
from __future__ import annotations

import functools
import os
from urllib.parse import urlparse

from nbafs.errors import UserError

PROJECT_ENV = "NBAFS_GCP_PROJECT"
LOCATION_ENV = "NBAFS_BIGQUERY_LOCATION"
BIGQUERY_EMULATOR_ENV = "BIGQUERY_EMULATOR_HOST"
BIGQUERY_STORAGE_EMULATOR_ENV = "NBAFS_BIGQUERY_STORAGE_EMULATOR_HOST"
STORAGE_EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
BUCKET_ENV = "NBAFS_GCS_BUCKET"  # read by warehouse/gcs.py
# Memorystore for Redis, read by feast_plugins/redis_online_store.py
REDIS_HOST_ENV = "NBAFS_REDIS_HOST"
REDIS_PORT_ENV = "NBAFS_REDIS_PORT"
REDIS_PASSWORD_ENV = "NBAFS_REDIS_PASSWORD"
REDIS_TLS_ENV = "NBAFS_REDIS_TLS"
REDIS_CA_CERT_ENV = "NBAFS_REDIS_CA_CERT"


def project() -> str:
    value = os.environ.get(PROJECT_ENV, "").strip()
    if not value:
        raise UserError(
            f"the prod profile reads BigQuery tables <project>.<dataset>.<table>: set {PROJECT_ENV} to the GCP "
            f"project that holds the nba_raw/nba_analytics/nba_precompute datasets (or run "
            f'`eval "$(nbafs stack up)"` for the local stand-ins).'
        )
    return value


def location() -> str:
    return os.environ.get(LOCATION_ENV, "").strip() or "US"


def bigquery_endpoint() -> str:
    """Where BigQuery requests go: the emulator's address, or Google's."""
    return os.environ.get(BIGQUERY_EMULATOR_ENV, "").strip() or "https://bigquery.googleapis.com"


def bigquery_client(project_id: str | None = None, location_name: str | None = None):
    """A ``google.cloud.bigquery.Client`` for the profile's project (the emulator's, when set)."""
    return _client(
        project_id or project(), location_name or location(),
        os.environ.get(BIGQUERY_EMULATOR_ENV, "").strip(),
        os.environ.get(BIGQUERY_STORAGE_EMULATOR_ENV, "").strip(),
    )


@functools.lru_cache(maxsize=8)
def _client(project_id: str, location_name: str, emulator: str, storage_emulator: str):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import bigquery

    if not emulator:
        try:
            return bigquery.Client(project=project_id, location=location_name)
        except DefaultCredentialsError as exc:
            raise UserError(
                f"no Google credentials for BigQuery (project {project_id}): set {CREDENTIALS_ENV} to a "
                f"service-account key file, or run `gcloud auth application-default login` ({exc.__class__.__name__})."
            ) from None

    class EmulatorClient(bigquery.Client):
        """Anonymous client of a BigQuery emulator; Storage Read over an insecure channel."""

        def _ensure_bqstorage_client(self, bqstorage_client=None, client_options=None, client_info=None):
            if bqstorage_client is not None:
                return bqstorage_client
            return _storage_read_client(storage_emulator) if storage_emulator else None

    return EmulatorClient(
        project=project_id, location=location_name, credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=emulator),
    )


def _storage_read_client(address: str):
    """A new Storage Read client (google-cloud-bigquery closes the ones it asked for after use)."""
    import grpc
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.bigquery_storage_v1 import BigQueryReadClient
    from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport

    channel = grpc.insecure_channel(
        address, options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    )
    transport = BigQueryReadGrpcTransport(channel=channel, credentials=AnonymousCredentials())
    return BigQueryReadClient(transport=transport)


def storage_client():
    """A ``google.cloud.storage.Client`` (anonymous against ``STORAGE_EMULATOR_HOST`` when set)."""
    from google.cloud import storage

    if os.environ.get(STORAGE_EMULATOR_ENV, "").strip():
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project=os.environ.get(PROJECT_ENV) or "<none>", credentials=AnonymousCredentials())
    return storage.Client(project=os.environ.get(PROJECT_ENV) or None)


def describe(service: str) -> str:
    """``service at address (set by VAR)``, for error messages that name where we tried to go."""
    if service == "bigquery":
        return f"BigQuery at {bigquery_endpoint()} ({BIGQUERY_EMULATOR_ENV} {'set' if os.environ.get(BIGQUERY_EMULATOR_ENV) else 'unset: Google'})"
    if service == "gcs":
        host = os.environ.get(STORAGE_EMULATOR_ENV, "").strip()
        return f"GCS at {host or 'https://storage.googleapis.com'} ({STORAGE_EMULATOR_ENV} {'set' if host else 'unset: Google'})"
    raise ValueError(service)


def host_port(url: str) -> tuple[str, int]:
    """``('127.0.0.1', 9050)`` from ``http://127.0.0.1:9050`` or ``127.0.0.1:9050``."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    return parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80)
