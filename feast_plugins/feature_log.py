"""Served feature vectors, logged: what each online read of a feature service returned.

Our online stores call :func:`record` at the end of every read of a feature service that
has a ``logging_config`` (``feature_repo/feature_services.py``). ``record`` only copies
the response into a buffer in memory; a background thread writes the buffered rows every
``NBAFS_FEATURE_LOG_FLUSH_SECONDS`` (default 2) through Feast's provider
(``write_feature_service_logs``, i.e. the offline store's ``write_logged_features``): a
warehouse table locally, BigQuery in production. So a read never waits on a warehouse
write. :func:`flush` writes now and raises what failed; an ``atexit`` hook flushes when
the interpreter exits, and our online stores' ``close`` (which ``feast serve`` calls at
shutdown, SIGTERM included: its worker then dies by the signal, without ``atexit``)
calls :func:`flush_at_shutdown`.

Rows follow Feast's logging schema (``FeatureServiceLoggingSource.get_schema``): the join
keys, the request fields (``line_offered``), per feature ``<view>__<feature>`` with its
``__timestamp`` (the value's event time, NULL when the response has none) and
``__status`` (Feast's ``FieldStatus`` number); then ``__log_timestamp``, which here is
the **request time** the values were judged at (``request_time``, else the wall clock at
the read), so a replay asks at exactly that time; ``__log_date``, its UTC date; and
``__request_id``, one id per read.

A write that fails is logged as an error naming the service and its destination, and
its rows stay buffered for the next flush, at most ``NBAFS_FEATURE_LOG_MAX_ROWS``
(default 1,000,000): beyond that the oldest are dropped, with an error saying how many.
"""
from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import random
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Optional

import pyarrow as pa

from nbafs.errors import UserError

FLUSH_SECONDS_ENV = "NBAFS_FEATURE_LOG_FLUSH_SECONDS"
MAX_ROWS_ENV = "NBAFS_FEATURE_LOG_MAX_ROWS"
DEFAULT_FLUSH_SECONDS = 2.0
DEFAULT_MAX_ROWS = 1_000_000

log = logging.getLogger(__name__)


class FeatureLogError(UserError):
    """Buffered served rows could not be written (they stay buffered for the next flush)."""


@dataclass
class _Served:
    """One online read of a feature service, as served."""

    config: Any  # RepoConfig
    registry: Any
    project: str
    service: Any  # FeatureService
    response: Any  # the OnlineResponse as returned (read only, never mutated here)
    request_us: list[int]
    request_id: str
    data_dir: Any  # NBAFS_DATA_DIR at the read: a relative log path is taken under it, not under a later one

    @property
    def rows(self) -> int:
        return len(self.request_us)

    @property
    def group(self) -> tuple:
        return (id(self.config), self.project, self.service.name, self.data_dir)


def _env_number(name: str, default: float, kind=float):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value <= 0:
        raise UserError(f"{name}={raw!r}: expected a positive {kind.__name__}; unset it for the default {default}")
    return value


def flush_seconds() -> float:
    """Seconds between background flushes (``NBAFS_FEATURE_LOG_FLUSH_SECONDS``, default 2)."""
    return _env_number(FLUSH_SECONDS_ENV, DEFAULT_FLUSH_SECONDS)


def max_rows() -> int:
    """Most rows kept in memory while writes fail (``NBAFS_FEATURE_LOG_MAX_ROWS``)."""
    return _env_number(MAX_ROWS_ENV, DEFAULT_MAX_ROWS, int)


def destination(service) -> str:
    """Where a service's logs go, for messages."""
    dest = service.logging_config.destination
    return getattr(dest, "table", None) or getattr(dest, "path", None) or type(dest).__name__


class _Buffer:
    """This process's buffered rows and the thread that writes them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()  # one write at a time (thread, flush(), atexit)
        self.pending: list[_Served] = []
        self.rows = 0
        self.wake = threading.Event()
        self.stopping = False
        self.thread: Optional[threading.Thread] = None
        self.pid = os.getpid()

    def add(self, served: _Served) -> None:
        with self.lock:
            self.pending.append(served)
            self.rows += served.rows
            self._bound()
            if self.thread is None:
                self.interval = flush_seconds()
                self.thread = threading.Thread(target=self._loop, name="nbafs-feature-log", daemon=True)
                self.thread.start()

    def _bound(self) -> None:
        """Drop the oldest reads beyond ``max_rows()`` (caller holds the lock)."""
        limit, dropped = max_rows(), 0
        while self.rows > limit and len(self.pending) > 1:
            old = self.pending.pop(0)
            self.rows -= old.rows
            dropped += old.rows
        if dropped:
            log.error("feature log: %d served rows dropped unwritten: more than %s=%d rows buffered while writes "
                      "failed (see the errors above)", dropped, MAX_ROWS_ENV, limit)

    def _loop(self) -> None:
        while not self.stopping:
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                self.flush()
            except FeatureLogError:
                pass  # logged by flush; the rows stay buffered
            except Exception:  # noqa: BLE001 - the thread must survive to write later
                log.exception("feature log: unexpected error in the background flush")

    def flush(self) -> int:
        with self.write_lock:
            with self.lock:
                taken, self.pending, self.rows = self.pending, [], 0
            groups: dict[tuple, list[_Served]] = {}
            for served in taken:
                groups.setdefault(served.group, []).append(served)
            written, failures, kept = 0, [], []
            for items in groups.values():
                first = items[0]
                try:
                    written += _write(items)
                except Exception as exc:  # noqa: BLE001 - reported below, rows kept
                    rows = sum(s.rows for s in items)
                    message = (f"feature log: {rows} served rows of feature service {first.service.name!r} could "
                               f"not be written to {destination(first.service)} ({type(exc).__name__}: {exc}); "
                               f"kept for the next flush")
                    log.error(message)
                    failures.append(message)
                    kept.extend(items)
            if kept:
                with self.lock:
                    self.pending[:0] = kept
                    self.rows += sum(s.rows for s in kept)
                    self._bound()
            if failures:
                raise FeatureLogError("; ".join(failures))
            return written

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()


_DATA_DIRS: dict[Optional[str], Any] = {}


def _data_dir():
    from nbafs import paths

    raw = os.environ.get(paths.DATA_DIR_ENV)
    found = _DATA_DIRS.get(raw)
    if found is None:
        found = _DATA_DIRS[raw] = paths.data_dir()
    return found


def _pinned(service, data_dir):
    """The service with a relative file destination made absolute under ``data_dir``."""
    import copy

    from feast.feature_logging import LoggingConfig
    from feast.infra.offline_stores.file_source import FileLoggingDestination

    config = service.logging_config
    dest = config.destination
    if not isinstance(dest, FileLoggingDestination) or os.path.isabs(dest.path):
        return service
    pinned = copy.copy(service)
    pinned.logging_config = LoggingConfig(
        FileLoggingDestination(path=str(data_dir / dest.path), s3_endpoint_override=dest.s3_endpoint_override,
                               partition_by=dest.partition_by),
        sample_rate=config.sample_rate)
    return pinned


_BUFFER: Optional[_Buffer] = None
_BUFFER_LOCK = threading.Lock()


def _buffer() -> _Buffer:
    global _BUFFER
    with _BUFFER_LOCK:
        if _BUFFER is None or _BUFFER.pid != os.getpid():  # a forked child starts empty
            first = _BUFFER is None
            _BUFFER = _Buffer()
            if first:
                atexit.register(_flush_at_exit)
        return _BUFFER


def _flush_at_exit() -> None:
    buf = _BUFFER
    if buf is None or buf.pid != os.getpid():
        return
    buf.stop()
    flush_at_shutdown()


def record(config, registry, project: str, feature_service, response, request_times_us: list[int]) -> None:
    """Buffer one read's served rows (called by our online stores; never waits on a write).

    ``response`` is the Feast ``OnlineResponse`` returned to the caller, ``request_times_us``
    each row's request time in microseconds. Honors the service's ``sample_rate``.
    """
    logging_config = feature_service.logging_config
    if logging_config is None:
        return
    if logging_config.sample_rate < 1.0 and random.random() >= logging_config.sample_rate:
        return
    # A reference, not a copy (a copy of a 450-row response costs milliseconds): responses are
    # not mutated after they are returned (NbaOnlineResponse's contract).
    _buffer().add(_Served(config, registry, project, feature_service, response, list(request_times_us),
                          uuid.uuid4().hex, _data_dir()))


def flush() -> int:
    """Write every buffered row now; the number written. Raises FeatureLogError if a write failed."""
    return _buffer().flush()


def flush_at_shutdown() -> None:
    """Write what is buffered, logging (not raising) a failure: for shutdown hooks."""
    buf = _BUFFER
    if buf is None or buf.pid != os.getpid() or not buf.rows:
        return
    try:
        buf.flush()
    except FeatureLogError:
        log.error("feature log: shutting down with %d served rows unwritten", buf.rows)


def pending_rows() -> int:
    """Rows buffered and not written yet."""
    return _buffer().rows


# --- the logged rows -----------------------------------------------------------------------


def _write(items: list[_Served]) -> int:
    from feast.feature_logging import FeatureServiceLoggingSource

    first = items[0]
    schema = FeatureServiceLoggingSource(first.service, first.project).get_schema(first.registry)
    table = pa.concat_tables([to_table(s, schema) for s in items])
    if table.num_rows:
        service = _pinned(first.service, first.data_dir)
        _provider(first.config).write_feature_service_logs(service, table, first.config, first.registry)
    return table.num_rows


_PROVIDERS: dict[int, Any] = {}


def _provider(config):
    from feast.infra.provider import get_provider

    provider = _PROVIDERS.get(id(config))
    if provider is None:
        provider = _PROVIDERS[id(config)] = get_provider(config)
    return provider


def _response_names(service) -> dict[str, tuple[str, ...]]:
    """Log column of each feature -> the names it may have in a response (full or short)."""
    out = {}
    for projection in service.feature_view_projections:
        for feature in projection.features:
            full = f"{projection.name_to_use()}__{feature.name}"
            out[full] = (full, feature.name)
    return out


def to_table(served: _Served, schema: pa.Schema) -> pa.Table:
    """One read's rows in the logging schema."""
    n = served.rows
    columns_of = _ResponseColumns(served.response)
    features = _response_names(served.service)
    columns: dict[str, pa.Array] = {}
    for field in schema:
        name = field.name
        if name.startswith("__"):
            continue
        base, suffix = name, None
        for end in ("__timestamp", "__status"):
            if name.endswith(end) and name[: -len(end)] in features:
                base, suffix = name[: -len(end)], end
        candidates = features.get(base, (base,))
        found = next((c for c in candidates if columns_of.has(c)), None)
        if found is None:
            raise FeatureLogError(
                f"feature service {served.service.name!r}: the response has no column {candidates[-1]!r} for log "
                f"column {name!r} (response columns: {', '.join(columns_of.names())})"
            )
        if suffix == "__status":
            values = columns_of.statuses(found)
        elif suffix == "__timestamp":
            values = [s or None for s in columns_of.timestamp_seconds(found)]
        else:
            values = columns_of.values(found)
        if len(values) != n:
            raise FeatureLogError(
                f"feature service {served.service.name!r}: column {found!r} has {len(values)} values for {n} "
                f"request times"
            )
        if suffix == "__timestamp":
            columns[name] = pa.array(values, pa.int64()).cast(field.type)
        else:
            columns[name] = pa.array(values, pa.int32() if suffix else field.type)
    us = pa.array(served.request_us, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    columns["__log_timestamp"] = us.cast(schema.field("__log_timestamp").type)
    columns["__log_date"] = pa.array(
        [(dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=t)).date() for t in served.request_us], pa.date32())
    columns["__request_id"] = pa.array([served.request_id] * n, pa.string())
    return pa.table([columns[f.name] for f in schema], schema=schema)


class _ResponseColumns:
    """Python values, statuses and event seconds of a response's columns.

    Our stores' ``NbaOnlineResponse`` holds them already (request data included, which
    Feast drops from the proto); any other ``OnlineResponse`` is decoded from its proto.
    """

    def __init__(self, response):
        self.response = response
        # Our response lists its names without assembling its proto (which it builds only on demand).
        self.proto_names = response.names() if hasattr(response, "names") else \
            list(response.proto.metadata.feature_names.val)
        self.python = getattr(response, "_python_columns", None) or {}
        self.seconds = getattr(response, "_timestamp_seconds", None) or {}

    def names(self) -> list[str]:
        return list(dict.fromkeys([*self.proto_names, *self.python]))

    def has(self, name: str) -> bool:
        return name in self.python or name in self.proto_names

    def _vector(self, name: str):
        return self.response.proto.results[self.proto_names.index(name)]

    def values(self, name: str) -> list:
        if name in self.python:
            return list(self.python[name])
        from feast.type_map import feast_value_type_to_python_type

        return [feast_value_type_to_python_type(v) for v in self._vector(name).values]

    def statuses(self, name: str) -> list:
        if name not in self.proto_names:
            return [1] * len(self.python[name])  # request data: PRESENT, as Feast marks it
        if hasattr(self.response, "statuses"):
            return list(self.response.statuses(name))
        return list(self._vector(name).statuses)

    def timestamp_seconds(self, name: str) -> list:
        if name in self.seconds:
            return list(self.seconds[name])
        if name not in self.proto_names:
            return [0] * len(self.python[name])
        return [t.seconds for t in self._vector(name).event_timestamps]
