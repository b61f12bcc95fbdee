"""Small GCS objects with generation preconditions: the Feast registry and the run state.

``ObjectStore(bucket)`` reads and writes whole objects of one bucket (client from
:func:`warehouse.gcp.storage_client`, so GCP or ``STORAGE_EMULATOR_HOST``):

    version = store.read(name)                      # Version(data, generation) or None
    generation = store.write(name, data, if_generation=version.generation if version else 0)
    store.delete(name, if_generation=generation)    # False when the object is not that generation

``if_generation=0`` creates only if absent; a stale generation raises
:class:`GenerationMismatch` (compare-and-swap). Transient errors are retried for at most
``RETRY_SECONDS``; then, as for a missing bucket or refused credentials, one UserError
names GCS's address, the bucket and the variable to check.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Iterator

from nbafs.errors import UserError
from warehouse import gcp

BUCKET_ENV = gcp.BUCKET_ENV
RETRY_SECONDS = 15.0


class GenerationMismatch(Exception):
    """The object is not at the generation the write or delete was conditioned on."""

    def __init__(self, url: str, expected: int, current: int | None):
        self.url, self.expected, self.current = url, expected, current
        now = "absent" if current is None else f"generation {current}"
        super().__init__(f"{url}: expected generation {expected}, found {now}")


@dataclasses.dataclass(frozen=True)
class Version:
    data: bytes
    generation: int


def bucket_name() -> str:
    value = os.environ.get(BUCKET_ENV, "").strip()
    if not value:
        raise UserError(
            f"the prod profile keeps the Feast registry, checkpoints and the store lock in GCS: set {BUCKET_ENV} "
            f'to the bucket (or run `eval "$(nbafs stack up)"` for the local stand-ins).'
        )
    return value


class ObjectStore:
    """Whole-object reads and conditional writes in one bucket."""

    def __init__(self, bucket: str | None = None):
        self.bucket_name = bucket or bucket_name()
        with self._errors("connect to"):
            self._bucket = gcp.storage_client().bucket(self.bucket_name)

    def url(self, name: str) -> str:
        return f"gs://{self.bucket_name}/{name}"

    def read(self, name: str) -> Version | None:
        from google.api_core.exceptions import NotFound

        blob = self._bucket.blob(name)
        with self._errors("read", name):
            try:
                data = blob.download_as_bytes(retry=_retry())
            except NotFound:
                self._check_bucket()
                return None
        return Version(data, int(blob.generation))

    def write(self, name: str, data: bytes, if_generation: int | None = None,
              content_type: str = "application/octet-stream") -> int:
        """Write the object; with ``if_generation`` only over that generation (0: only if absent)."""
        from google.api_core.exceptions import NotFound, PreconditionFailed

        blob = self._bucket.blob(name)
        with self._errors("write", name):
            try:
                blob.upload_from_string(data, content_type=content_type, if_generation_match=if_generation,
                                        retry=_retry())
            except PreconditionFailed:
                current = self.read(name)
                if current is not None and current.data == data:
                    return current.generation  # our own write, retried after its reply was lost
                raise GenerationMismatch(self.url(name), if_generation or 0,
                                         current.generation if current else None) from None
            except NotFound:
                self._check_bucket()
                raise
        return int(blob.generation)

    def delete(self, name: str, if_generation: int) -> bool:
        """Delete the object if it is still that generation; False (nothing deleted) otherwise."""
        from google.api_core.exceptions import NotFound, PreconditionFailed

        current = self.read(name)  # fake-gcs-server ignores delete preconditions; GCS honours them
        if current is None or current.generation != if_generation:
            return False
        with self._errors("delete", name):
            try:
                self._bucket.blob(name).delete(if_generation_match=if_generation, retry=_retry())
            except (NotFound, PreconditionFailed):
                return False
        return True

    def _check_bucket(self) -> None:
        with self._errors("look up the bucket of"):
            exists = self._bucket.exists(retry=_retry())
        if not exists:
            raise UserError(
                f"bucket gs://{self.bucket_name} does not exist at {gcp.describe('gcs')}. Create it "
                f"(gcloud storage buckets create gs://{self.bucket_name}) or set {BUCKET_ENV} to the project's bucket."
            )

    @contextlib.contextmanager
    def _errors(self, action: str, name: str = "") -> Iterator[None]:
        from google.api_core.exceptions import Forbidden, RetryError, Unauthorized
        from google.auth.exceptions import DefaultCredentialsError, TransportError
        from requests.exceptions import ConnectionError, Timeout

        where = self.url(name) if name else f"gs://{self.bucket_name}"
        try:
            yield
        except (RetryError, ConnectionError, Timeout, TransportError) as exc:
            cause = getattr(exc, "cause", None) or exc
            raise UserError(
                f"could not {action} {where}: {gcp.describe('gcs')} does not answer "
                f"({type(cause).__name__}). Check that it runs and that {gcp.STORAGE_EMULATOR_ENV} points at it "
                f"(unset on GCP)."
            ) from None
        except (Forbidden, Unauthorized, DefaultCredentialsError) as exc:
            raise UserError(
                f"could not {action} {where}: access denied by {gcp.describe('gcs')} ({type(exc).__name__}). "
                f"Check {gcp.CREDENTIALS_ENV}: the service account needs roles/storage.objectAdmin on the bucket."
            ) from None


def _retry():
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_timeout(RETRY_SECONDS)
