"""The embedded warehouse's files: one parquet file per table and game-date partition.

The local engine (``warehouse.engine_duckdb``) reads and writes through this module;
everything else asks ``warehouse.engine.current()``, which is BigQuery in the prod profile.

``data/warehouse/<dataset>/<table>/<YYYY-MM-DD>.parquet`` is what Feast's DuckDB
offline store reads (a ``FileSource`` over the table's glob), and what ``connect()``
exposes to DuckDB as ``<dataset>.<table>`` views, the same names as in BigQuery.

Writes replace whole partitions: each file is written beside its final name and
renamed over it, so a reader never sees half a partition, and rewriting the same
partitions is idempotent.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Iterable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nbafs import paths
from warehouse.schema import ALL_TABLES, DATASETS, DUCKDB_TYPES, FEATURE_LOG_DATASET, Table


def table_glob(table: Table) -> str:
    return str(paths.table_dir(table.dataset, table.name) / "*.parquet")


def relative_glob(table: Table) -> str:
    """The glob relative to the data dir (what the Feast FileSources store)."""
    return f"warehouse/{table.dataset}/{table.name}/*.parquet"


def partition_path(table: Table, day: dt.date) -> Path:
    return paths.table_dir(table.dataset, table.name) / f"{day.isoformat()}.parquet"


def partitions(table: Table) -> list[dt.date]:
    """The game dates that have a partition file, in order."""
    d = paths.table_dir(table.dataset, table.name)
    if not d.exists():
        return []
    return sorted(dt.date.fromisoformat(p.stem) for p in d.glob("*.parquet"))


def write_partitions(
    table: Table,
    data: pa.Table,
    replace_dates: Iterable[dt.date] | None = None,
) -> int:
    """Write ``data`` (already conformed to ``table``'s schema) partition by partition.

    Every game date present in ``data`` is replaced. Dates in ``replace_dates`` that have
    no rows in ``data`` are deleted, so re-running a transform over a range drops rows
    that no longer exist. Returns the number of rows written.
    """
    data = data.select(table.column_names).cast(table.arrow_schema())
    directory = paths.table_dir(table.dataset, table.name)
    directory.mkdir(parents=True, exist_ok=True)
    dates_col = data.column(table.partition_by)
    present = sorted(set(dates_col.to_pylist()))
    for day in present:
        part = data.filter(pc.equal(dates_col, pa.scalar(day, pa.date32())))
        final = partition_path(table, day)
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        pq.write_table(part, tmp)
        os.replace(tmp, final)
    for day in set(replace_dates or ()) - set(present):
        partition_path(table, day).unlink(missing_ok=True)
    return data.num_rows


def read_table(
    table: Table, start: dt.date | None = None, end: dt.date | None = None, columns: list[str] | None = None,
) -> pa.Table:
    """All rows of a table (optionally game dates start..end inclusive, only ``columns``) as Arrow."""
    schema = table.arrow_schema()
    if columns is not None:
        schema = pa.schema([schema.field(table.column(c).name) for c in columns])
    files = [
        partition_path(table, d)
        for d in partitions(table)
        if (start is None or d >= start) and (end is None or d <= end)
    ]
    if not files:
        return schema.empty_table()
    return pa.concat_tables([pq.read_table(f, columns=columns).cast(schema) for f in files])


def connect(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where every declared table is a view ``dataset.table``.

    A table with no partition yet is an empty table of its declared schema, so queries
    over a fresh warehouse return no rows instead of failing on a missing file.
    """
    con = duckdb.connect(database)
    con.execute("SET TimeZone = 'UTC'")
    for ds in DATASETS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {ds}")
    for t in ALL_TABLES:
        attach_table(con, t)
    attach_feature_logs(con)
    return con


def attach_feature_logs(con: duckdb.DuckDBPyConnection) -> None:
    """A view ``nba_feast_logs.<service>`` per feature service with logged rows.

    Written by our offline store's ``write_logged_features`` (``<service>/__log_date=<date>/*.parquet``,
    Feast's logging schema, the date kept in the files too).
    """
    root = paths.warehouse_dir() / FEATURE_LOG_DATASET
    services = sorted(d for d in root.glob("*") if d.is_dir() and any(d.glob("*/*.parquet"))) if root.exists() else []
    if not services:
        return
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {FEATURE_LOG_DATASET}")
    for d in services:
        glob = str(d / "*" / "*.parquet").replace("'", "''")
        con.execute(f'CREATE VIEW {FEATURE_LOG_DATASET}."{d.name}" AS SELECT * FROM '
                    f"read_parquet('{glob}', union_by_name = true, hive_partitioning = false)")


def attach_table(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """(Re)define the view for one table, e.g. after its partitions changed."""
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [table.dataset, table.name],
    ).fetchone()
    if kind is not None:
        con.execute(f"DROP {'VIEW' if kind[0] == 'VIEW' else 'TABLE'} {table.fqn}")
    if partitions(table):
        cols = ", ".join(f'CAST("{c.name}" AS {DUCKDB_TYPES[c.type]}) AS "{c.name}"' for c in table.columns)
        con.execute(
            f"CREATE VIEW {table.fqn} AS SELECT {cols} FROM read_parquet('{table_glob(table)}', union_by_name=true)"
        )
    else:
        cols = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.type]}' for c in table.columns)
        con.execute(f"CREATE TABLE {table.fqn} ({cols})")
