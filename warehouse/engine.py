"""The warehouse seam: one interface, one engine per profile.

    from warehouse import engine
    wh = engine.current()        # DuckDB over the parquet warehouse, or BigQuery with NBAFS_PROFILE=prod
    wh.query("SELECT COUNT(*) AS n FROM nba_raw.schedule WHERE game_date >= @d", {"d": day})
    wh.read(PLAYER_GAME_SUMMARY, start, end, columns=["player_lookup", "game_id", "points"])
    wh.write_partitions(SCHEDULE, rows, replace_dates=days)

SQL is BigQuery's dialect (the production truth), tables are named ``dataset.table``
as in BigQuery, parameters are ``@name`` with Python values (date, datetime, int,
float, str, bool, or a list of one of those). The local engine (``engine_duckdb``)
transpiles with sqlglot; the production engine (``engine_bigquery``) sends the SQL as
it is. Every read and write of the warehouse goes through this interface, so no code
path reads local files in the production profile.
"""
from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping

import pyarrow as pa

from nbafs.errors import UserError
from warehouse.schema import ALL_TABLES, Table

Params = Mapping[str, object] | None


@dataclass(frozen=True)
class Stored:
    """What one storage unit of a table holds: a partition file locally, the table in BigQuery."""

    where: str  # the file's path, or project.dataset.table
    schema: pa.Schema


@dataclass(frozen=True)
class DayCounts:
    """Rows per UTC day of an event-time column, for the batch engine's chunk plan."""

    days: dict[dt.date, int]
    spans: list[tuple[dt.datetime, dt.datetime]] | None = None  # event-time range per partition file, when known


class QueryError(UserError):
    """A query the engine refused; ``reason`` is the engine's own words."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class Warehouse(abc.ABC):
    """The operations every caller needs; one subclass per engine."""

    name: str  # "duckdb" | "bigquery"
    unit: str  # what one Stored is: "partition file" | "BigQuery table"

    @abc.abstractmethod
    def where(self) -> str:
        """Where the tables live, for messages: the data directory, or the project and endpoint."""

    @abc.abstractmethod
    def query(self, sql: str, params: Params = None) -> pa.Table:
        """Run BigQuery SQL with ``@name`` parameters; the rows of the last statement."""

    @abc.abstractmethod
    def read(self, table: Table, start: dt.date | None = None, end: dt.date | None = None,
             columns: list[str] | None = None) -> pa.Table:
        """Rows of a declared table (game dates start..end inclusive), typed by the declaration."""

    @abc.abstractmethod
    def write_partitions(self, table: Table, data: pa.Table, replace_dates: Iterable[dt.date] | None = None) -> int:
        """Replace whole game-date partitions, atomically and idempotently; rows written.

        Every game date in ``data`` is replaced by its rows; dates in ``replace_dates``
        without rows in ``data`` are emptied. ``data`` must already conform to the table.
        """

    @abc.abstractmethod
    def partitions(self, table: Table) -> list[dt.date]:
        """The game dates with rows, in order (none for a table not created yet)."""

    @abc.abstractmethod
    def stored_columns(self, tables: Iterable[Table], start: dt.date | None = None,
                       end: dt.date | None = None) -> dict[str, list[Stored]]:
        """``{fqn: [Stored]}``: the columns each table really holds (empty list: nothing stored yet)."""

    @abc.abstractmethod
    def event_day_counts(self, table: Table, column: str, start: dt.datetime, end_excl: dt.datetime) -> DayCounts | None:
        """Rows per UTC day of ``column`` in [start, end_excl); None when the engine cannot say cheaply."""

    def ensure_tables(self, tables: Iterable[Table] = ALL_TABLES) -> None:
        """Create the datasets and tables that do not exist yet, from the declarations."""


_ENGINES: dict[tuple, Warehouse] = {}


def current() -> Warehouse:
    """The active profile's engine (``nbafs.profile.active()``): DuckDB locally, BigQuery in prod."""
    from nbafs import profile

    if profile.active() == "prod":
        from warehouse import engine_bigquery, gcp

        key = ("bigquery", gcp.project(), gcp.location(), gcp.bigquery_endpoint(),
               engine_bigquery.storage_endpoint())
        if key not in _ENGINES:
            _ENGINES[key] = engine_bigquery.BigQueryWarehouse(key[1], key[2])
        return _ENGINES[key]
    from warehouse import engine_duckdb

    return engine_duckdb.DuckDBWarehouse()
