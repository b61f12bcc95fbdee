"""Redis online store (GCP Memorystore for Redis) whose endpoint and AUTH string come from the environment.

``feature_store.prod.yaml`` names ``feast_plugins.redis_online_store.NbaRedisOnlineStore``:
Feast's ``RedisOnlineStore`` (same keys and values, read by Feast's own code), with the
local store's monotonic rule on write: a row replaces the stored one only when its event
time is later, or equal with a created time not older (a late correction wins, a rerun
rewrites identical values, an older window changes nothing). Stock Feast skips equal
event times, so a correction would never reach production. Connection built at connect
time from:

    NBAFS_REDIS_HOST        Memorystore's endpoint (stand-in: 127.0.0.1)
    NBAFS_REDIS_PORT        6379 (6378 on Memorystore with in-transit encryption)
    NBAFS_REDIS_PASSWORD    the AUTH string (unset: no AUTH)
    NBAFS_REDIS_TLS         true|false (default false): Memorystore's in-transit encryption
    NBAFS_REDIS_CA_CERT     the instance's server CA certificate (PEM file) when TLS is on

The yaml holds no endpoint and no secret (a ``connection_string`` there is an error).
Keep the AUTH string in Secret Manager and export it when the job starts, e.g.
``export NBAFS_REDIS_PASSWORD="$(gcloud secrets versions access latest --secret=nba-redis-auth)"``
(``gcloud redis instances get-auth-string INSTANCE`` prints it;
``gcloud redis instances describe INSTANCE --format='value(serverCaCerts[0].cert)'`` the CA).

A Redis that does not answer, or refuses the password, is one :class:`RedisUnavailableError`
naming the service, its address and the variables to check; the password is never
printed (not in messages, not in ``repr``).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, StrictFloat, StrictInt, StrictStr, model_validator

from feast.infra.online_stores.redis import RedisClient, RedisOnlineStore, RedisOnlineStoreConfig, RedisType

from nbafs.errors import UserError
from warehouse import gcp

CLASS_PATH = "feast_plugins.redis_online_store.NbaRedisOnlineStore"
HOST_ENV = gcp.REDIS_HOST_ENV
PORT_ENV = gcp.REDIS_PORT_ENV
PASSWORD_ENV = gcp.REDIS_PASSWORD_ENV
TLS_ENV = gcp.REDIS_TLS_ENV
CA_CERT_ENV = gcp.REDIS_CA_CERT_ENV


class RedisUnavailableError(UserError):
    """The online store's Redis does not answer, or refuses the connection's credentials."""


class NbaRedisOnlineStoreConfig(RedisOnlineStoreConfig):
    type: Literal["feast_plugins.redis_online_store.NbaRedisOnlineStore"] = CLASS_PATH  # type: ignore[assignment]
    connection_string: StrictStr = Field(default="", repr=False)
    """Not read (an error when set): the endpoint comes from the environment."""
    connect_timeout_seconds: StrictFloat | StrictInt = 5
    """How long to wait for Redis to accept a connection before saying it does not answer."""

    @model_validator(mode="after")
    def _no_endpoint_in_the_yaml(self):
        if "connection_string" in self.model_fields_set:
            raise UserError(
                f"online_store.connection_string is not read by NbaRedisOnlineStore: the endpoint and the AUTH "
                f"string come from {HOST_ENV}, {PORT_ENV}, {PASSWORD_ENV}, {TLS_ENV} and {CA_CERT_ENV}. Remove it "
                f"from the yaml (a password there would be committed)."
            )
        if self.redis_type != RedisType.redis or self.client != RedisClient.redis:
            raise UserError("NbaRedisOnlineStore supports redis_type: redis and client: redis (one Memorystore endpoint).")
        if self.skip_dedup:
            raise UserError(
                "online_store.skip_dedup: true would let an older window overwrite newer values; "
                "the production profile keeps Feast's event-timestamp comparison. Remove it."
            )
        return self


@dataclasses.dataclass(frozen=True)
class RedisEndpoint:
    """Where the online store's Redis is and how to authenticate; ``repr`` hides the password."""

    host: str
    port: int
    password: str | None = dataclasses.field(default=None, repr=False)
    tls: bool = False
    ca_cert: str | None = None

    @property
    def address(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}"

    def connection_kwargs(self, connect_timeout: float) -> dict:
        kwargs: dict = {"host": self.host, "port": self.port, "password": self.password,
                        "socket_connect_timeout": connect_timeout}
        if self.tls:
            kwargs.update(ssl=True, ssl_cert_reqs="required", ssl_ca_certs=self.ca_cert)
        return kwargs


def endpoint_from_env() -> RedisEndpoint:
    """The endpoint the environment names (a UserError naming the variable when one is missing or bad)."""
    host = os.environ.get(HOST_ENV, "").strip()
    if not host:
        raise UserError(
            f"the online store is Redis (Memorystore): set {HOST_ENV} (and {PORT_ENV}, {PASSWORD_ENV}, {TLS_ENV}) "
            f'to its endpoint, or run `eval "$(nbafs stack up)"` for the local stand-in.'
        )
    raw_port = os.environ.get(PORT_ENV, "").strip() or "6379"
    try:
        port = int(raw_port)
    except ValueError:
        raise UserError(f"{PORT_ENV}={raw_port!r} is not a port number (Memorystore: 6379, or 6378 with TLS).") from None
    raw_tls = os.environ.get(TLS_ENV, "").strip().lower() or "false"
    if raw_tls not in ("true", "false"):
        raise UserError(f"{TLS_ENV}={os.environ.get(TLS_ENV)!r}: expected true or false.")
    tls = raw_tls == "true"
    ca_cert = os.environ.get(CA_CERT_ENV, "").strip() or None
    if tls and ca_cert and not Path(ca_cert).is_file():
        raise UserError(f"{CA_CERT_ENV}={ca_cert}: no such file (the Memorystore instance's server CA certificate, PEM).")
    password = os.environ.get(PASSWORD_ENV) or None
    return RedisEndpoint(host=host, port=port, password=password, tls=tls, ca_cert=ca_cert)


def unavailable(endpoint: RedisEndpoint, exc: BaseException) -> RedisUnavailableError:
    """The one message for a Redis that does not answer or refuses us (never the password)."""
    from redis.exceptions import AuthenticationError

    detail = str(exc) or type(exc).__name__
    if endpoint.password:
        detail = detail.replace(endpoint.password, "***")
    if isinstance(exc, AuthenticationError):
        sent = "with a password" if endpoint.password else "without a password"
        return RedisUnavailableError(
            f"Redis (the online store) at {endpoint.address} refused the connection {sent} ({detail}). Check "
            f"{PASSWORD_ENV}: it must be the instance's AUTH string (gcloud redis instances get-auth-string)."
        )
    hint = f"{HOST_ENV} and {PORT_ENV}"
    if endpoint.tls:
        hint += f", and {CA_CERT_ENV} (TLS is on: {TLS_ENV}=true)"
    else:
        hint += f", and {TLS_ENV} (Memorystore with in-transit encryption needs true, port 6378)"
    return RedisUnavailableError(
        f"Redis (the online store) at {endpoint.address} does not answer ({detail}). Check that it runs and "
        f"that {hint} point at it."
    )


def _no_retry():
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), 0)


def _nanos(t) -> int | None:
    """UTC nanoseconds since the epoch (None stays None)."""
    if t is None:
        return None
    from feast import utils

    aware = utils.make_tzaware(t)
    return int(aware.timestamp()) * 1_000_000_000 + aware.microsecond * 1_000


def replaces(new: tuple[int, int | None], old: tuple[int, int | None] | None) -> bool:
    """The local store's rule (feast_plugins/online_store.py): later event, or same event written no earlier."""
    if old is None:
        return True
    (event, created), (old_event, old_created) = new, old
    if event != old_event:
        return event > old_event
    return created is None or old_created is None or created >= old_created


# One HMGET per key, run inside Redis: the reply is one array per key, in the keys' order.
# (Standalone Redis, as Memorystore's basic and standard tiers; a cluster would need the
# keys of one call in one slot.)
_HMGET_MANY = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HMGET', key, unpack(ARGV)) end
return out
"""


class NbaRedisOnlineStore(RedisOnlineStore):
    """Feast's Redis online store on the environment's endpoint (see the module docstring)."""

    def online_write_batch(self, config, table, data, progress) -> None:
        """Feast's hash layout; each entity written only when :func:`replaces` says so.

        Per entity key: Feast's ``_ts:<view>`` (a protobuf Timestamp) and the feature
        fields, plus ``_created_ts:<view>`` (nanoseconds, text) for the tie on equal event
        times. One pipelined read of the stored times, one pipelined write.
        """
        from feast.infra.online_stores.helpers import _mmh3, _redis_key
        from feast.infra.online_stores.redis import _versioned_fv_name
        from google.protobuf.timestamp_pb2 import Timestamp

        client = self._get_client(config.online_store)
        view = _versioned_fv_name(table, config)
        ts_key, created_key = f"_ts:{view}", f"_created_ts:{view}"
        keys = [
            _redis_key(config.project, entity_key, entity_key_serialization_version=config.entity_key_serialization_version)
            for entity_key, _, _, _ in data
        ]
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key, ts_key, created_key)
            stored = pipe.execute()
        latest: dict[bytes, tuple[int, int | None]] = {}
        for key, (raw_ts, raw_created) in zip(keys, stored):
            if raw_ts:
                old = Timestamp()
                old.ParseFromString(raw_ts)
                latest[key] = (old.seconds * 1_000_000_000 + old.nanos, int(raw_created) if raw_created else None)
        winners: dict[bytes, int] = {}  # key -> index in data of the row to write
        for i, (key, (_, _, event_ts, created_ts)) in enumerate(zip(keys, data)):
            candidate = (_nanos(event_ts), _nanos(created_ts))
            if replaces(candidate, latest.get(key)):
                latest[key] = candidate
                winners[key] = i
        with client.pipeline(transaction=False) as pipe:
            for key, i in winners.items():
                _, values, event_ts, created_ts = data[i]
                ts = Timestamp()
                ts.FromNanoseconds(latest[key][0])
                mapping = {ts_key: ts.SerializeToString()}
                if created_ts is not None:
                    mapping[created_key] = str(latest[key][1])
                for feature, value in values.items():
                    mapping[_mmh3(f"{view}:{feature}")] = value.SerializeToString()
                pipe.hset(key, mapping=mapping)
                if created_ts is None:
                    pipe.hdel(key, created_key)
                if config.online_store.key_ttl_seconds:
                    pipe.expire(name=key, time=config.online_store.key_ttl_seconds)
            pipe.execute()
        if progress:
            progress(len(data))

    # --- reads: our read path (feast_plugins/online_serving.py), as for the SQLite store --------

    @property
    def async_supported(self):
        """Sync only: ``feast serve`` runs reads in its thread pool; each read is one round trip."""
        from feast.infra.supported_async_methods import SupportedAsyncMethods

        return SupportedAsyncMethods(read=False, write=False)

    def get_online_features(self, config, features, entity_rows, registry, project,
                            full_feature_names=False, include_feature_view_version_metadata=False):
        """``online_serving.get_online_features``: the staleness rule, declared order, one round trip."""
        from feast_plugins import online_serving

        return online_serving.get_online_features(
            self, config, features, entity_rows, registry, project,
            full_feature_names, include_feature_view_version_metadata,
        )

    async def close(self) -> None:
        """Feast calls this when ``feast serve`` shuts down: write the served vectors still buffered."""
        from feast_plugins import feature_log

        feature_log.flush_at_shutdown()
        await super().close()

    async def get_online_features_async(self, config, features, entity_rows, registry, project,
                                        full_feature_names=False, include_feature_view_version_metadata=False):
        return self.get_online_features(config, features, entity_rows, registry, project,
                                        full_feature_names, include_feature_view_version_metadata)

    def read_views(self, config, views, keys) -> list[tuple]:
        """One row per key (serialized entity keys), for views keyed alike: ``online_serving``'s contract.

        Each row is ``(event_us, *stored values)`` per view, None where the hash holds no
        row of that view. All the keys' fields are fetched by one server-side script
        (one round trip, one HMGET per key inside Redis), so a 450-player slate costs one
        network exchange instead of a 450-command pipeline.
        """
        from redis.exceptions import ConnectionError, TimeoutError

        from feast_plugins.online_values import timestamp_micros

        if not keys:
            return []
        fields, layout = self._read_plan(config, views)
        project = config.project.encode("utf-8")
        client = self._get_client(config.online_store)
        try:
            replies = self._hmget_many(client)(keys=[k + project for k in keys], args=fields)
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise unavailable(endpoint_from_env(), exc) from None
        # Column by column (list comprehensions), then rows: most of the time is decoding.
        columns: list = []
        stamps: dict = {}  # serialized Timestamp -> µs: a view's rows mostly share a few event times
        for ts_index, decoders, first in layout:
            event_us = [None if raw is None else stamps[raw] if raw in stamps
                        else stamps.setdefault(raw, timestamp_micros(raw)) for raw in (r[ts_index] for r in replies)]
            columns.append(event_us)
            absent = [e is None for e in event_us]
            for j, decode in enumerate(decoders):
                column = [decode(r[first + j]) for r in replies]
                if any(absent):  # no row of this view for the key: its fields are NULL, whatever the hash holds
                    column = [None if a else v for v, a in zip(column, absent)]
                columns.append(column)
        return list(zip(*columns))

    def _read_plan(self, config, views):
        """The hash fields to fetch for these views and where each view's are in the reply."""
        from feast.infra.online_stores.helpers import _mmh3
        from feast.infra.online_stores.redis import _versioned_fv_name

        from feast_plugins.online_values import codec_for, value_decoder

        cache_key = tuple((table.name, tuple(features), id(table)) for table, features in views)
        cached = self._plans.get(cache_key) if hasattr(self, "_plans") else None
        if cached is not None:
            return cached
        fields: list = []
        layout = []
        for table, features in views:
            name = _versioned_fv_name(table, config)
            types = {f.name: f.dtype.to_value_type() for f in table.features}
            first = len(fields)
            fields.extend(_mmh3(f"{name}:{f}") for f in features)
            ts_index = len(fields)
            fields.append(f"_ts:{name}".encode("utf-8"))
            layout.append((ts_index, [value_decoder(codec_for(types[f])) for f in features], first))
        if not hasattr(self, "_plans"):
            self._plans = {}
        self._plans[cache_key] = (fields, layout)
        return fields, layout

    def _hmget_many(self, client):
        script = getattr(self, "_hmget_script", None)
        if script is None or script.registered_client is not client:
            script = self._hmget_script = client.register_script(_HMGET_MANY)
        return script

    async def online_write_batch_async(self, config, table, data, progress) -> None:
        """The same rule as :meth:`online_write_batch` (Feast's async path would skip equal times)."""
        self.online_write_batch(config, table, data, progress)

    def _get_client(self, online_store_config: NbaRedisOnlineStoreConfig):
        if not self._client:
            from redis import Redis
            from redis.exceptions import ConnectionError, TimeoutError

            endpoint = endpoint_from_env()
            kwargs = endpoint.connection_kwargs(online_store_config.connect_timeout_seconds)
            probe = Redis(**kwargs, retry=_no_retry())  # a refusal is final: say so at once, not after retries
            try:
                probe.ping()
            except (ConnectionError, TimeoutError, OSError) as exc:
                raise unavailable(endpoint, exc) from None
            finally:
                probe.close()
            self._client = Redis(**kwargs)
        return self._client

    async def _get_client_async(self, online_store_config: NbaRedisOnlineStoreConfig):
        if not self._client_async:
            from redis import asyncio as redis_asyncio
            from redis.exceptions import ConnectionError, TimeoutError

            endpoint = endpoint_from_env()
            kwargs = endpoint.connection_kwargs(online_store_config.connect_timeout_seconds)
            probe = redis_asyncio.Redis(**kwargs, retry=_no_retry())
            try:
                await probe.ping()
            except (ConnectionError, TimeoutError, OSError) as exc:
                raise unavailable(endpoint, exc) from None
            finally:
                await probe.aclose()
            self._client_async = redis_asyncio.Redis(**kwargs)
        return self._client_async
