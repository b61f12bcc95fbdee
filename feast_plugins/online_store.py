"""SQLite online store under NBAFS_DATA_DIR: one wide row per entity, writes never go back in time.

``feature_store.yaml``::

    online_store:
      type: feast_plugins.online_store.NbaSqliteOnlineStore
      path: online_store.db          # relative paths are taken under NBAFS_DATA_DIR

Layout: one table per feature view (``<project>_<view>``), one row per entity key::

    entity_key BLOB PRIMARY KEY   -- Feast's serialized entity key (version 3)
    event_ts   INTEGER NOT NULL   -- event timestamp, microseconds since the epoch (UTC)
    created_ts INTEGER            -- created timestamp, same unit; NULL if the source has none
    "<feature>" REAL|INTEGER|TEXT|BLOB, ...   -- one column per feature (online_values.py)

Stock Feast keeps one row per (entity, feature), reads a slate as ~17 rows per player
and writes without looking at timestamps. Here:

- **Monotonic writes.** A row is replaced only by a row that is not older: a later
  ``event_ts``, or the same ``event_ts`` with a ``created_ts`` not older (a late
  correction wins; replaying the same data overwrites it, so reruns are idempotent).
  Materializing an old window after a new one leaves the newer values in place.
- **Fast bulk writes.** One ``BEGIN IMMEDIATE`` transaction and one ``executemany``
  upsert per batch. ``write_arrow`` takes a chunk as an Arrow table straight from the
  offline store, with no protobuf per value, for batch engines that can use it.
- **Fast reads.** One indexed ``WHERE entity_key IN (...)`` query per feature view for
  the whole slate. ``get_online_features`` (the method Feast's provider calls) builds
  the response in ``online_serving.py``; requests it does not cover (see there) take
  Feast's generic path, which calls ``online_read`` here.
- **Two processes at once.** WAL journal (readers never block the writer), a busy
  timeout (a second writer waits instead of failing), a connection per process.

Reads return what the store holds, whatever its age: ttl is judged by the caller
(``serving/online.py``), as Feast's contract for ``get_online_features`` says.
``dump`` reads a whole feature view back (consistency tests, resume checks).
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Union

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from feast import Entity
from feast.feature_service import FeatureService
from feast.feature_view import FeatureView
from feast.infra.infra_object import InfraObject
from feast.infra.key_encoding_utils import deserialize_entity_key, serialize_entity_key
from feast.infra.online_stores.helpers import compute_table_id
from feast.infra.online_stores.online_store import OnlineStore
from feast.infra.registry.base_registry import BaseRegistry
from feast.online_response import OnlineResponse
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import RepeatedValue
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import FeastConfigBaseModel, RepoConfig
from pydantic import StrictStr

from feast_plugins import online_serving
from feast_plugins.online_values import (
    NATIVE_CODECS,
    Codec,
    codec_for,
    python_column,
    serialize_python_key_column,
)
from nbafs import paths
from nbafs.errors import UserError

RESERVED_COLUMNS = ("entity_key", "event_ts", "created_ts")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_ONE_US = dt.timedelta(microseconds=1)
_MAX_SQL_VARIABLES = 30_000  # SQLite allows 32766 host parameters per statement
_INHERITED_CONNECTIONS: list = []  # connections a forked child inherited (see _connection)


class NbaSqliteOnlineStoreConfig(FeastConfigBaseModel):
    """``online_store:`` section of feature_store.yaml for this store."""

    type: Literal["feast_plugins.online_store.NbaSqliteOnlineStore"] = (
        "feast_plugins.online_store.NbaSqliteOnlineStore"
    )
    path: StrictStr = "online_store.db"
    """SQLite file; a relative path is taken under NBAFS_DATA_DIR."""

    busy_timeout_seconds: float = 60.0
    """How long a writer waits for another process's write transaction before failing."""


class OnlineStoreSchemaError(UserError, RuntimeError):
    """The SQLite file does not hold what the feature views need (run ``feast apply``).

    A UserError: the commands print its message (what is missing, what to run) without
    a traceback.
    """


def to_micros(ts: dt.datetime) -> int:
    """Microseconds since the epoch; a naive datetime is UTC (Feast's contract)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.timezone.utc)
    return (ts - _EPOCH) // _ONE_US


def from_micros(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def feature_codecs(table: FeatureView) -> List[Tuple[str, Codec]]:
    """(feature name, codec) for every feature of a view, in schema order."""
    out = []
    for field in table.features:
        if field.name in RESERVED_COLUMNS:
            raise OnlineStoreSchemaError(
                f"feature view {table.name!r}: feature name {field.name!r} is reserved by the "
                f"online store ({', '.join(RESERVED_COLUMNS)}); rename the feature"
            )
        out.append((field.name, codec_for(field.dtype.to_value_type())))
    return out


class NbaSqliteOnlineStore(OnlineStore):
    """The online store named in feature_store.yaml (see the module docstring)."""

    def __init__(self) -> None:
        self._conn: Optional[sqlite3.Connection] = None
        self._conn_pid: Optional[int] = None
        self._path: Optional[Path] = None
        self._where: Optional[tuple] = None  # (configured path, NBAFS_DATA_DIR) of the connection
        self._lock = threading.RLock()
        # table name -> {column: declared type}, refreshed by update() and on schema errors
        self._columns: Dict[str, Dict[str, str]] = {}

    # --- connection ----------------------------------------------------------------

    @staticmethod
    def db_path(config: RepoConfig) -> Path:
        return paths.resolve_in_data_dir(config.online_store.path)

    def _connection(self, config: RepoConfig) -> sqlite3.Connection:
        where = (config.online_store.path, os.environ.get(paths.DATA_DIR_ENV))
        if self._conn is not None and self._conn_pid == os.getpid() and self._where == where:
            return self._conn
        if self._conn is not None and self._conn_pid != os.getpid():
            # Forked: the parent's connection must not be used, nor closed, in the child
            # (SQLite's rule); keep it referenced so it is never finalized here.
            _INHERITED_CONNECTIONS.append(self._conn)
        elif self._conn is not None:
            self._conn.close()
        path = self.db_path(config)
        path.parent.mkdir(parents=True, exist_ok=True)
        timeout = float(getattr(config.online_store, "busy_timeout_seconds", 60.0))
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a killed process loses nothing committed
        self._conn, self._conn_pid, self._path, self._where = conn, os.getpid(), path, where
        self._columns.clear()
        return conn

    async def close(self) -> None:
        """Feast calls this when ``feast serve`` shuts down: write the served vectors still buffered."""
        from feast_plugins import feature_log

        feature_log.flush_at_shutdown()
        await super().close()

    def close_connection(self) -> None:
        """Close this process's connection (the next call opens a new one)."""
        with self._lock:
            if self._conn is not None and self._conn_pid == os.getpid():
                self._conn.close()
            self._conn = self._conn_pid = self._path = self._where = None
            self._columns.clear()

    @staticmethod
    def table_name(config: RepoConfig, table: FeatureView) -> str:
        return compute_table_id(
            config.project, table, config.registry.enable_online_feature_view_versioning
        )

    def _table_columns(self, conn: sqlite3.Connection, name: str, refresh: bool = False) -> Dict[str, str]:
        if refresh or name not in self._columns:
            rows = conn.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
            self._columns[name] = {r[1]: (r[2] or "").upper() for r in rows}
        return self._columns[name]

    def _require_columns(self, conn: sqlite3.Connection, config: RepoConfig, table: FeatureView,
                         names: Sequence[str]) -> str:
        """The table name, after checking the table and these columns exist."""
        name = self.table_name(config, table)
        columns = self._table_columns(conn, name)
        missing = [c for c in (*RESERVED_COLUMNS, *names) if c not in columns]
        if missing:
            columns = self._table_columns(conn, name, refresh=True)  # another process may have applied
            missing = [c for c in (*RESERVED_COLUMNS, *names) if c not in columns]
        if missing:
            what = "has no table" if not columns else f"table {name!r} lacks columns {missing}"
            raise OnlineStoreSchemaError(
                f"online store {self._path} {what} for feature view {table.name!r}: run `feast apply` "
                f"with the same NBAFS_DATA_DIR to create it, then materialize"
            )
        return name

    # --- infrastructure ----------------------------------------------------------------

    def plan(self, config: RepoConfig, desired_registry_proto: RegistryProto) -> List[InfraObject]:
        # The tables are reconciled by update(); no Feast InfraObject describes them
        # (Feast's SqliteTable would create the stock layout), so plans show no infra diff.
        return []

    def update(
        self,
        config: RepoConfig,
        tables_to_delete: Sequence[FeatureView],
        tables_to_keep: Sequence[FeatureView],
        entities_to_delete: Sequence[Entity],
        entities_to_keep: Sequence[Entity],
        partial: bool,
    ) -> None:
        """Create, reshape or drop the per-view tables (called by ``feast apply``).

        A new feature gets a new (empty) column; a removed feature's column is dropped;
        a feature whose storage type changed loses its values (they must be
        materialized again, as with any changed feature).
        """
        with self._lock:
            conn = self._connection(config)
            conn.execute("BEGIN IMMEDIATE")
            try:
                for table in tables_to_keep:
                    self._reconcile_table(conn, config, table)
                for table in tables_to_delete:
                    name = self.table_name(config, table)
                    conn.execute(f"DROP TABLE IF EXISTS {_quote(name)}")
                    self._columns.pop(name, None)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self._columns.clear()
                raise

    def _reconcile_table(self, conn: sqlite3.Connection, config: RepoConfig, table: FeatureView) -> None:
        name = self.table_name(config, table)
        wanted = {feature: codec.sqlite_type for feature, codec in feature_codecs(table)}
        existing = self._table_columns(conn, name, refresh=True)
        if existing and not all(c in existing for c in RESERVED_COLUMNS):
            raise OnlineStoreSchemaError(
                f"online store {self._path}: table {name!r} has another layout (columns "
                f"{sorted(existing)}), probably written by Feast's stock SQLite store. Point "
                f"online_store.path at a new file or delete this one, then `feast apply` again"
            )
        if not existing:
            columns = ", ".join(f"{_quote(f)} {t}" for f, t in wanted.items())
            conn.execute(
                f"CREATE TABLE {_quote(name)} (entity_key BLOB PRIMARY KEY, event_ts INTEGER NOT NULL, "
                f"created_ts INTEGER{', ' + columns if columns else ''}) WITHOUT ROWID"
            )
        else:
            for column, declared in existing.items():
                if column in RESERVED_COLUMNS:
                    continue
                if wanted.get(column) != declared:
                    conn.execute(f"ALTER TABLE {_quote(name)} DROP COLUMN {_quote(column)}")
            for feature, sqlite_type in wanted.items():
                if existing.get(feature) != sqlite_type:
                    conn.execute(f"ALTER TABLE {_quote(name)} ADD COLUMN {_quote(feature)} {sqlite_type}")
        self._table_columns(conn, name, refresh=True)

    def teardown(self, config: RepoConfig, tables: Sequence[FeatureView], entities: Sequence[Entity]) -> None:
        """Drop the views' tables; delete the file once no table is left in it."""
        with self._lock:
            path = self.db_path(config)
            if not path.exists():
                return
            conn = self._connection(config)
            for table in tables:
                conn.execute(f"DROP TABLE IF EXISTS {_quote(self.table_name(config, table))}")
            left = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            self.close_connection()
            if left == 0:
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)

    # --- writes --------------------------------------------------------------------------

    def online_write_batch(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: List[Tuple[EntityKeyProto, Dict[str, ValueProto], dt.datetime, Optional[dt.datetime]]],
        progress: Optional[Callable[[int], Any]],
    ) -> None:
        """Feast's write contract: (entity key, {feature: value}, event ts, created ts) rows."""
        codecs = feature_codecs(table)
        known = {f for f, _ in codecs}
        version = config.entity_key_serialization_version
        rows = []
        for entity_key, values, event_ts, created_ts in data:
            unknown = values.keys() - known
            if unknown:
                raise ValueError(
                    f"online write to feature view {table.name!r}: features {sorted(unknown)} are not "
                    f"in its schema ({sorted(known)})"
                )
            row = [
                serialize_entity_key(entity_key, entity_key_serialization_version=version),
                to_micros(event_ts),
                None if created_ts is None else to_micros(created_ts),
            ]
            for feature, codec in codecs:
                v = values.get(feature)
                try:
                    row.append(None if v is None else codec.from_proto(v))
                except TypeError as exc:
                    raise TypeError(f"feature view {table.name!r}, feature {feature!r}: {exc}") from None
            rows.append(row)
        self.write_rows(config, table, rows)
        if progress:
            progress(len(data))

    def write_arrow(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: pa.Table,
        event_timestamp_column: str,
        created_timestamp_column: Optional[str] = None,
    ) -> int:
        """Write a chunk given as Arrow (join keys, timestamps, features); no protobuf per value.

        Column names are the view's join keys and feature names (a feature missing from
        ``data`` is written as NULL). Same monotonic rule as ``online_write_batch``;
        the result in the store is identical. Returns the number of rows written.
        """
        if data.num_rows == 0:
            return 0
        codecs = feature_codecs(table)
        join_keys = [c.name for c in table.entity_columns]
        missing = [c for c in (*join_keys, event_timestamp_column) if c not in data.column_names]
        if missing:
            raise ValueError(f"online write to feature view {table.name!r}: input lacks columns {missing}")
        if config.entity_key_serialization_version != 3:
            raise ValueError("write_arrow needs entity_key_serialization_version: 3")
        keys = serialize_python_key_column(
            join_keys,
            [c.dtype.to_value_type() for c in table.entity_columns],
            [data.column(k).to_pylist() for k in join_keys],
        )
        columns: List[list] = [keys, _micros_column(data.column(event_timestamp_column))]
        if created_timestamp_column and created_timestamp_column in data.column_names:
            columns.append(_micros_column(data.column(created_timestamp_column)))
        else:
            columns.append([None] * data.num_rows)
        for feature, codec in codecs:
            if feature not in data.column_names:
                columns.append([None] * data.num_rows)
                continue
            column = data.column(feature)
            if pa.types.is_floating(column.type):
                column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
            values = column.to_pylist()
            if codec.value_type not in NATIVE_CODECS:  # kept as a serialized Value
                values = [codec.from_python(v) for v in values]
            columns.append(values)
        self.write_rows(config, table, list(zip(*columns)))
        return data.num_rows

    def write_rows(self, config: RepoConfig, table: FeatureView, rows: Sequence[Sequence[Any]]) -> None:
        """Upsert rows ``(entity_key, event_us, created_us, *stored feature values)`` in one transaction."""
        if not rows:
            return
        features = [f for f, _ in feature_codecs(table)]
        with self._lock:
            conn = self._connection(config)
            name = self._require_columns(conn, config, table, features)
            columns = [*RESERVED_COLUMNS, *features]
            quoted = ", ".join(_quote(c) for c in columns)
            updates = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in columns[1:])
            sql = (
                f"INSERT INTO {_quote(name)} ({quoted}) VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT(entity_key) DO UPDATE SET {updates} "
                # Never back in time: a later event, or the same event written no earlier.
                f"WHERE excluded.event_ts > event_ts OR (excluded.event_ts = event_ts AND "
                f"(excluded.created_ts IS NULL OR created_ts IS NULL OR excluded.created_ts >= created_ts))"
            )
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException as exc:
                conn.execute("ROLLBACK")
                self._explain_schema_error(exc, conn, config, [(table, features)])
                raise

    # --- reads ---------------------------------------------------------------------------

    def read_views(
        self,
        config: RepoConfig,
        views: Sequence[Tuple[FeatureView, Sequence[str]]],
        keys: Sequence[bytes],
    ) -> List[tuple]:
        """One row per key, in the order of ``keys``, for views keyed alike.

        Each row is ``(event_us, *stored values)`` of the first view, then the same for
        the next view, ...; ``event_us`` is None (and the values too) where a view holds
        no row for the key. One query joins the keys to every view's primary key.
        """
        with self._lock:
            conn = self._connection(config)
            select: List[str] = []
            joins: List[str] = []
            for i, (table, features) in enumerate(views):
                name = self._require_columns(conn, config, table, features)
                alias = f"t{i}"
                select += [f"{alias}.event_ts", *(f"{alias}.{_quote(f)}" for f in features)]
                joins.append(f"LEFT JOIN {_quote(name)} AS {alias} ON {alias}.entity_key = k.key")
            rows: List[tuple] = []
            for start in range(0, len(keys), _MAX_SQL_VARIABLES):
                batch = keys[start:start + _MAX_SQL_VARIABLES]
                sql = (
                    f"WITH k(i, key) AS (VALUES {_numbered_placeholders(len(batch))}) "
                    f"SELECT {', '.join(select)} FROM k {' '.join(joins)} ORDER BY k.i"
                )
                try:
                    rows += conn.execute(sql, batch).fetchall()
                except sqlite3.OperationalError as exc:
                    self._explain_schema_error(exc, conn, config, views)
                    raise
        return rows

    def _explain_schema_error(self, exc: BaseException, conn, config, views) -> None:
        """A table or column gone since it was cached (another process applied): say what to do."""
        if isinstance(exc, sqlite3.OperationalError) and "no such" in str(exc):
            self._columns.clear()
            for table, features in views:
                self._require_columns(conn, config, table, features)  # raises OnlineStoreSchemaError

    def online_read(
        self,
        config: RepoConfig,
        table: FeatureView,
        entity_keys: List[EntityKeyProto],
        requested_features: Optional[List[str]] = None,
    ) -> List[Tuple[Optional[dt.datetime], Optional[Dict[str, ValueProto]]]]:
        """Feast's read contract: (event ts, {feature: value}) per key, (None, None) if absent."""
        codecs = dict(feature_codecs(table))
        features = [f for f in (requested_features or codecs) if f in codecs]
        version = config.entity_key_serialization_version
        keys = [serialize_entity_key(k, entity_key_serialization_version=version) for k in entity_keys]
        distinct = list(dict.fromkeys(keys))
        found = dict(zip(distinct, self.read_views(config, [(table, features)], distinct)))
        result: List[Tuple[Optional[dt.datetime], Optional[Dict[str, ValueProto]]]] = []
        for key in keys:
            row = found[key]
            if row[0] is None:
                result.append((None, None))
                continue
            values = {f: codecs[f].to_proto(stored) for f, stored in zip(features, row[1:])}
            result.append((from_micros(row[0]), values))
        return result

    async def online_read_async(self, config, table, entity_keys, requested_features=None):
        return self.online_read(config, table, entity_keys, requested_features)

    def get_online_features(
        self,
        config: RepoConfig,
        features: Union[List[str], FeatureService],
        entity_rows: Union[
            List[Dict[str, Any]],
            Mapping[str, Union[Sequence[Any], Sequence[ValueProto], RepeatedValue]],
        ],
        registry: BaseRegistry,
        project: str,
        full_feature_names: bool = False,
        include_feature_view_version_metadata: bool = False,
    ) -> OnlineResponse:
        """What ``FeatureStore.get_online_features`` runs (through the provider): ``online_serving``."""
        return online_serving.get_online_features(
            self, config, features, entity_rows, registry, project,
            full_feature_names, include_feature_view_version_metadata,
        )

    async def get_online_features_async(self, config, features, entity_rows, registry, project,
                                        full_feature_names=False, include_feature_view_version_metadata=False):
        return self.get_online_features(config, features, entity_rows, registry, project,
                                        full_feature_names, include_feature_view_version_metadata)

    def dump(self, config: RepoConfig, table: FeatureView) -> pd.DataFrame:
        """Every row of a view: join keys, ``event_timestamp``, ``created_timestamp``, features.

        Feature values are the Python values Feast would serve; rows are sorted by the
        join keys, so two dumps of equal stores compare equal with ``DataFrame.equals``.
        """
        codecs = feature_codecs(table)
        features = [f for f, _ in codecs]
        with self._lock:
            conn = self._connection(config)
            name = self._require_columns(conn, config, table, features)
            select = ", ".join(["entity_key", "event_ts", "created_ts", *(_quote(f) for f in features)])
            rows = conn.execute(f"SELECT {select} FROM {_quote(name)}").fetchall()
        version = config.entity_key_serialization_version
        join_keys = [c.name for c in table.entity_columns]
        records = []
        for key, event_us, created_us, *stored in rows:
            entity = deserialize_entity_key(key, entity_key_serialization_version=version)
            record = dict(zip(entity.join_keys, python_column(entity.entity_values)))
            record["event_timestamp"] = from_micros(event_us)
            record["created_timestamp"] = None if created_us is None else from_micros(created_us)
            for (feature, codec), value in zip(codecs, stored):
                record[feature] = codec.to_python(value) if value is not None else None
            records.append(record)
        columns = [*join_keys, "event_timestamp", "created_timestamp", *features]
        frame = pd.DataFrame.from_records(records, columns=columns)
        return frame.sort_values(join_keys, kind="stable").reset_index(drop=True)


@functools.lru_cache(maxsize=64)
def _numbered_placeholders(n: int) -> str:
    """``(0,?),(1,?),...``: the keys numbered, so rows come back in the order asked."""
    return ",".join(f"({i},?)" for i in range(n))


def _micros_column(column: pa.ChunkedArray) -> list:
    """Microseconds since the epoch of an Arrow timestamp column (naive = UTC)."""
    if not pa.types.is_timestamp(column.type):
        raise ValueError(f"expected a timestamp column, got {column.type}")
    micros = pc.cast(column, pa.timestamp("us", tz=column.type.tz), safe=False)
    return pc.cast(micros, pa.int64()).to_pylist()


def online_store_of(store) -> NbaSqliteOnlineStore:
    """The NbaSqliteOnlineStore behind a ``feast.FeatureStore`` (for dumps and direct writes)."""
    online = store._get_provider().online_store
    if not isinstance(online, NbaSqliteOnlineStore):
        raise TypeError(f"the feature store's online store is {type(online).__name__}, not NbaSqliteOnlineStore")
    return online
