"""Registry stores: a file under NBAFS_DATA_DIR (local) and a GCS object (production).

- ``DataDirRegistryStore`` (``feature_store.yaml``: ``registry_store_type: ...DataDirRegistryStore,
  path: registry.db``). Feast's own FileRegistryStore resolves a relative path against
  the repo; this one resolves it against the data directory, so each store beside
  another (``NBAFS_DATA_DIR=/tmp/a feast apply``) has its own registry, and the yaml
  needs no environment variable to be valid.
- ``NbaGCSRegistryStore`` (``feature_store.prod.yaml``: ``path: gs://${NBAFS_GCS_BUCKET}/feast/registry.db``).
  Feast's GCS registry store on the project's GCS client (``warehouse.gcs``): the same
  object format, but a GCS that does not answer, a missing bucket or an unset
  ``NBAFS_GCS_BUCKET`` is one clear error within seconds, not a bare exception after
  two minutes of retries.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlparse

from feast.infra.registry.file import FileRegistryStore
from feast.infra.registry.gcs import GCSRegistryStore
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.repo_config import RegistryConfig
from feast.utils import _utc_now

from feast_plugins.env import expanded
from nbafs import paths
from nbafs.errors import UserError


class DataDirRegistryStore(FileRegistryStore):
    def __init__(self, registry_config: RegistryConfig, repo_path: Path):
        super().__init__(registry_config, repo_path)
        self._filepath = paths.resolve_in_data_dir(registry_config.path)


class NbaGCSRegistryStore(GCSRegistryStore):
    """The registry as one GCS object ``gs://<bucket>/<path>``, read and written whole."""

    def __init__(self, registry_config: RegistryConfig, repo_path: Path):
        from warehouse import gcs

        uri = urlparse(expanded(registry_config.path, "registry.path"))
        if uri.scheme != "gs" or not uri.hostname or not uri.path.strip("/"):
            raise UserError(f"registry.path {registry_config.path!r}: expected gs://<bucket>/<object>.")
        self._uri = uri
        self._bucket = uri.hostname
        self._blob = uri.path.lstrip("/")
        self._objects = gcs.ObjectStore(self._bucket)

    def get_registry_proto(self) -> RegistryProto:
        version = self._objects.read(self._blob)
        if version is None:  # Feast's Registry creates a new one on FileNotFoundError
            raise FileNotFoundError(f'Registry not found at path "{self._uri.geturl()}". Have you run "feast apply"?')
        proto = RegistryProto()
        proto.ParseFromString(version.data)
        return proto

    def update_registry_proto(self, registry_proto: RegistryProto):
        self._write_registry(registry_proto)

    def _write_registry(self, registry_proto: RegistryProto):
        registry_proto.version_id = str(uuid.uuid4())
        registry_proto.last_updated.FromDatetime(_utc_now())
        self._objects.write(self._blob, registry_proto.SerializeToString())

    def teardown(self):
        version = self._objects.read(self._blob)
        if version is not None:
            self._objects.delete(self._blob, version.generation)
