"""The local engine: DuckDB over the parquet warehouse of NBAFS_DATA_DIR (``warehouse.storage``).

BigQuery SQL is transpiled with sqlglot and its ``@name`` parameters bound as literals
(``to_duckdb``); each query runs on a fresh in-memory connection whose views read the
partition files. Reads, writes and partition lists work on the files directly (a file per table and
month, its game dates listed in its footer: ``warehouse.storage``), and the partition list, the
column check and the batch engine's plan read only the parquet footers
(``warehouse.footers``), so nothing here costs more than the files it must open.
Tables need no creating: a table is its folder of files.
"""
from __future__ import annotations

import datetime as dt
import functools
import glob as globlib
from pathlib import Path
from typing import Iterable

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from nbafs import disk_cache, paths
from warehouse import footers, storage
from warehouse.engine import DayCounts, Params, QueryError, Stored, Warehouse
from warehouse.schema import Table


class DuckDBWarehouse(Warehouse):
    name = "duckdb"
    unit = "partition file"

    def where(self) -> str:
        return f"the local warehouse under {paths.warehouse_dir()}"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with every declared table as a view ``dataset.table`` (local engine only)."""
        return storage.connect()

    def query(self, sql: str, params: Params = None) -> pa.Table:
        params = dict(params or {})
        statements = _parse(sql)
        if len(statements) == 1 and params and all(type(v) is dt.date for v in params.values()):
            return self._run([bind_dates(date_template(sql, tuple(sorted(params))), params)])
        return self._run([to_duckdb(s, params) for s in statements])

    def query_duckdb(self, sql: str) -> pa.Table:
        """Run DuckDB SQL as it is (``nbafs query --dialect duckdb``)."""
        return self._run([sql])

    def _run(self, statements: list[str]) -> pa.Table:
        con = self.connect()
        try:
            result = pa.table({})
            for sql in statements:
                rel = con.sql(sql)  # None for statements that return no rows
                result = rel.to_arrow_table() if rel is not None else pa.table({})
            return _as_bigquery_types(result)
        except duckdb.Error as exc:
            raise QueryError(f"the query failed on {self.where()}: {exc}", str(exc)) from None
        finally:
            con.close()

    def read(self, table, start=None, end=None, columns=None) -> pa.Table:
        return storage.read_table(table, start, end, columns=columns)

    def write_partitions(self, table, data, replace_dates=None) -> int:
        return storage.write_partitions(table, data, replace_dates)

    def partitions(self, table) -> list[dt.date]:
        return storage.partitions(table)

    def stored_columns(self, tables: Iterable[Table], start=None, end=None) -> dict[str, list[Stored]]:
        return {t.fqn: footer_schemas(storage.table_glob(t), start, end) for t in tables}

    def event_day_counts(self, table, column, start, end_excl) -> DayCounts | None:
        return footer_day_counts(storage.table_glob(table), column, start, end_excl)


def _as_bigquery_types(table: pa.Table) -> pa.Table:
    """DuckDB's HUGEINT (COUNT_IF, SUM of integers) as INT64, the type BigQuery returns for them."""
    hugeint = pa.decimal128(38, 0)
    for i, field in enumerate(table.schema):
        if field.type == hugeint:
            table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
    return table


# --- parquet footers (also for Feast FileSources outside the warehouse) -----------------------


def footer_schemas(pattern: str, start: dt.date | None = None, end: dt.date | None = None) -> list[Stored]:
    """The schema of every parquet file matching ``pattern`` (those holding dates of start..end, when named by date)."""
    out = []
    for f in sorted(Path(p) for p in globlib.glob(pattern)):
        layout = storage.layout_of_file(f)
        if layout is not None:
            lo, hi = layout.span(f.stem)
            if (start and hi < start) or (end and lo > end):
                continue
        out.append(Stored(str(f), footers.footer(f).schema))
    return out


def footer_day_counts(pattern: str, column: str, start: dt.datetime, end_excl: dt.datetime) -> DayCounts | None:
    """Rows per UTC day from the footers, without reading a row.

    Exact for the warehouse's files (their rows per event time, ``nbafs.events``); for
    other files a row group's rows count on the day of its earliest event in the window.
    None when a file has neither for ``column`` (then the caller reads the timestamps).
    """
    days: dict[dt.date, int] = {}
    spans = []
    for f in footers.footers(pattern):
        if not f.num_rows:
            continue
        events = f.event_counts(column)
        if events is not None:  # exact: rows per event time
            for t, rows in events:
                if start <= t < end_excl:
                    spans.append((t, t))
                    days[t.date()] = days.get(t.date(), 0) + rows
            continue
        groups = f.row_group_time_ranges(column)
        if groups is None:
            return None
        for lo, hi, rows in groups:
            if hi < start or lo >= end_excl:
                continue
            spans.append((lo, hi))
            day = max(lo, start).date()
            days[day] = days.get(day, 0) + rows
    return DayCounts(days, spans)


# --- BigQuery SQL on DuckDB ---------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _parse(sql: str) -> tuple[exp.Expression, ...]:
    try:
        return tuple(s for s in sqlglot.parse(sql, read="bigquery") if s is not None)
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"the query is not valid BigQuery SQL: {exc}", str(exc)) from None


def to_duckdb(expression: exp.Expression, params: dict[str, object]) -> str:
    """Bind ``@name`` parameters as literals and write the expression as DuckDB SQL.

    A number literal with a point or an exponent (``0.44``) is FLOAT64 in BigQuery but
    DECIMAL in DuckDB, and exact decimal arithmetic ends in other last bits than
    BigQuery's doubles; it is cast to DOUBLE so both engines compute the same floats.

    SQL with DATE parameters only (the transformations' ``@start_date``/``@end_date``)
    goes through ``date_template`` and ``bind_dates`` instead: written once, the dates
    put in per call.
    """
    return _write(expression, params)


def bind_dates(template: str, params: dict[str, dt.date]) -> str:
    """A template of ``date_template`` with its DATE parameters' values in place."""
    for name, value in params.items():  # quotes included: @d's marker is not a prefix of @day's
        template = template.replace(f"'{_Marker(name).text}'", f"'{value.isoformat()}'")
    return template


@functools.lru_cache(maxsize=64)
def date_template(sql: str, names: tuple[str, ...]) -> str:
    """BigQuery ``sql`` written as DuckDB SQL with a marker for each DATE parameter in ``names``.

    Parsing and writing the transformations' SQL costs about 0.6 s a process; the text
    only changes with the SQL, this module and sqlglot, so it is kept under
    <data dir>/cache/duckdb_sql/ by a digest of the three. ``bind_dates`` puts the dates in.
    """
    def write() -> str:
        (expression,) = _parse(sql)
        return _write(expression, {n: _Marker(n) for n in names})

    return disk_cache.text("duckdb_sql", (sqlglot.__version__, Path(__file__).read_text(), ",".join(names), sql), write)


class _Marker:
    """A DATE parameter's place in a written template."""

    def __init__(self, name: str):
        self.text = f"nbafs-parameter-{name}"


def _write(expression: exp.Expression, params: dict[str, object]) -> str:
    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Parameter):
            name = node.name
            if name not in params:
                raise KeyError(f"SQL parameter @{name} has no value; known: {', '.join(params) or 'none'}")
            value = params[name]
            if isinstance(value, _Marker):
                return exp.cast(exp.Literal.string(value.text), "DATE")
            return _literal(value)
        if isinstance(node, exp.Literal) and not node.is_string and any(c in node.this for c in ".eE"):
            return exp.cast(node.copy(), exp.DataType.build("DOUBLE"))
        return node

    return expression.copy().transform(bind).sql(dialect="duckdb")


def _literal(value: object) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError(f"SQL parameter {value!r}: a TIMESTAMP needs a time zone (use UTC)")
        text = value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMPTZ", dialect="duckdb"))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[_literal(v) for v in value])
    raise TypeError(f"cannot bind a SQL parameter of type {type(value).__name__}")
