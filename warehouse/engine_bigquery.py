"""The production engine: BigQuery through google-cloud-bigquery (clients from ``warehouse.gcp`` only).

Tables are ``<NBAFS_GCP_PROJECT>.<dataset>.<table>``; SQL is sent as written, with
``@name`` query parameters typed from their Python values.

Creating tables: the commands that write (``nbafs generate``, ``nbafs import``,
``nbafs transform``) create the missing datasets and tables on their first write, with
the DDL ``nbafs schema --ddl`` prints (``ensure_tables``). Reads never create
anything: a table not created yet has no partitions and no rows, as a fresh local
warehouse, and a query naming it says what to run.

Writes (``write_partitions``) load the rows into a staging table (a load job, the
table expiring after a day in case the process dies), then run one script
``BEGIN TRANSACTION; DELETE the dates; INSERT from staging; COMMIT TRANSACTION;`` and
drop the staging table: a failure leaves the table as it was, and a rerun gives the
same table.

A BigQuery that does not answer is one message naming the service, its address and
the environment variable that points at it; no traceback.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import uuid
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from nbafs.errors import UserError
from warehouse import gcp
from warehouse.ddl import ddl
from warehouse.engine import DayCounts, Params, QueryError, Stored, Warehouse
from warehouse.schema import ALL_TABLES, ARROW_TYPES, Table

PAGE_ROWS = 5_000
"""Results up to this many rows come back in the query's first page; larger ones through Storage Read."""
STAGING_PREFIX = "_nbafs_staging_"

ARROW_OF_BIGQUERY = {
    **ARROW_TYPES, "INTEGER": pa.int64(), "FLOAT": pa.float64(), "BOOLEAN": pa.bool_(),
    "NUMERIC": pa.decimal128(38, 9), "BIGNUMERIC": pa.decimal256(76, 38), "DATETIME": pa.timestamp("us"),
    "TIME": pa.time64("us"), "BYTES": pa.binary(),
}


def storage_endpoint() -> str:
    return os.environ.get(gcp.BIGQUERY_STORAGE_EMULATOR_ENV, "").strip()


def _seconds() -> float:
    """How long to retry: seconds for an emulator on loopback, two minutes for Google."""
    return 3.0 if os.environ.get(gcp.BIGQUERY_EMULATOR_ENV, "").strip() else 120.0


def _retry():
    """Google's default retry of one API call, within ``_seconds()``."""
    from google.cloud import bigquery

    return bigquery.DEFAULT_RETRY.with_timeout(_seconds())


def _job_retry() -> dict:
    """Keyword arguments for a query job's own retries: none against an emulator, Google's defaults otherwise.

    Google's job retry (rate limits, backend errors) re-sends a query whose insert failed for
    ten minutes, whatever the call retry says; an emulator has no rate limits to wait out.
    """
    return {"job_retry": None} if os.environ.get(gcp.BIGQUERY_EMULATOR_ENV, "").strip() else {}


def _param(name: str, value: object):
    from google.cloud import bigquery

    def kind(v: object) -> str:
        if isinstance(v, bool):
            return "BOOL"
        if isinstance(v, dt.datetime):
            return "TIMESTAMP"
        if isinstance(v, dt.date):
            return "DATE"
        if isinstance(v, int):
            return "INT64"
        if isinstance(v, float):
            return "FLOAT64"
        if isinstance(v, str):
            return "STRING"
        raise TypeError(f"SQL parameter @{name}: cannot send a {type(v).__name__} to BigQuery")

    if isinstance(value, (list, tuple)):
        kinds = {kind(v) for v in value}
        if len(kinds) > 1:
            raise TypeError(f"SQL parameter @{name}: mixed types {sorted(kinds)} in one array")
        return bigquery.ArrayQueryParameter(name, kinds.pop() if kinds else "STRING", list(value))
    return bigquery.ScalarQueryParameter(name, kind(value), value)


class BigQueryWarehouse(Warehouse):
    name = "bigquery"
    unit = "BigQuery table"

    def __init__(self, project: str, location: str):
        self.project = project
        self.location = location
        self._ensured: set[str] = set()

    @property
    def client(self):
        return gcp.bigquery_client(self.project, self.location)

    def where(self) -> str:
        return f"BigQuery project {self.project} ({gcp.describe('bigquery')})"

    def ref(self, table: Table) -> str:
        return f"{self.project}.{table.fqn}"

    # --- errors ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _calling(self, what: str):
        """Turn a failed call into the one message for it: not answering, not found, or refused."""
        try:
            yield
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - what is not recognised is re-raised as it is
            err = self._message(exc, what)
            if err is None:
                raise
            raise err from None

    def _message(self, exc: Exception, what: str) -> UserError | None:
        import requests
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as aexc

        if isinstance(exc, (gexc.RetryError, requests.exceptions.ConnectionError, aexc.TransportError,
                            gexc.ServiceUnavailable, ConnectionError)):
            cause = exc.cause if isinstance(exc, gexc.RetryError) and exc.cause is not None else exc
            return UserError(
                f"{gcp.describe('bigquery')} did not answer while {what} ({type(cause).__name__}). Start the "
                f"local stand-ins (eval \"$(nbafs stack up)\") or point {gcp.BIGQUERY_EMULATOR_ENV} at a running "
                f"emulator; unset it to use Google's BigQuery."
            )
        errors = getattr(exc, "errors", None) or []
        first = errors[0].get("message") if errors and isinstance(errors[0], dict) else None
        message = first or (getattr(exc, "message", None) or str(exc)).split("\n")[0]
        if isinstance(exc, gexc.NotFound):
            return QueryError(
                f"BigQuery (project {self.project}): {message}. The datasets and tables are created from "
                f"warehouse/schema.py by the commands that write them: `nbafs generate` or `nbafs import` (raw "
                f"tables), then `nbafs transform` (derived tables); or create them all from `nbafs schema --ddl`. "
                f"Check {gcp.PROJECT_ENV} if they should exist.",
                message,
            )
        if isinstance(exc, gexc.GoogleAPICallError):
            return QueryError(f"the query failed on BigQuery (project {self.project}) while {what}: {message}", message)
        return None

    # --- queries ---------------------------------------------------------------------------
    def execute(self, sql: str, params: Params = None, what: str = "running a query"):
        """Run ``sql`` (one statement or a script) and wait; the finished QueryJob."""
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=[_param(k, v) for k, v in (params or {}).items()])
        with self._calling(what):
            job = self.client.query(sql, job_config=config, retry=_retry(), **_job_retry())
            job.result(retry=_retry(), **_job_retry(), max_results=0)
            return job

    def query(self, sql: str, params: Params = None) -> pa.Table:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=[_param(k, v) for k, v in (params or {}).items()])
        with self._calling("running a query"):
            job = self.client.query(sql, job_config=config, retry=_retry(), **_job_retry())
            rows = job.result(retry=_retry(), **_job_retry(), page_size=PAGE_ROWS)
            return rows.to_arrow(create_bqstorage_client=(rows.total_rows or 0) > PAGE_ROWS)

    # --- tables ----------------------------------------------------------------------------
    def _exists(self, table: Table) -> bool:
        from google.api_core.exceptions import NotFound

        with self._calling(f"looking up {self.ref(table)}"):
            try:
                self.client.get_table(self.ref(table), retry=_retry())
                return True
            except NotFound:
                return False

    def ensure_tables(self, tables: Iterable[Table] = ALL_TABLES) -> None:
        """Create the missing datasets and tables with ``nbafs schema --ddl``'s statements (once per process)."""
        todo = [t for t in tables if t.fqn not in self._ensured]
        missing = tuple(t for t in todo if not self._exists(t))
        if missing:
            self.execute(ddl(missing), what=f"creating {', '.join(t.fqn for t in missing)}")
        self._ensured.update(t.fqn for t in todo)

    def read(self, table, start=None, end=None, columns=None) -> pa.Table:
        schema = table.arrow_schema()
        names = list(columns) if columns is not None else table.column_names
        schema = pa.schema([schema.field(table.column(c).name) for c in names])
        if not self._exists(table):
            return schema.empty_table()
        where, params = [], {}
        if start is not None:
            where.append(f"{table.partition_by} >= @start")
            params["start"] = start
        if end is not None:
            where.append(f"{table.partition_by} <= @end")
            params["end"] = end
        order = ", ".join(dict.fromkeys([table.partition_by, *table.grain]))
        sql = (f"SELECT {', '.join(f'`{c}`' for c in names)} FROM `{self.ref(table)}`"
               + (f" WHERE {' AND '.join(where)}" if where else "") + f" ORDER BY {order}")
        return self.query(sql, params).select(names).cast(schema)

    def partitions(self, table) -> list[dt.date]:
        if not self._exists(table):
            return []
        got = self.query(f"SELECT DISTINCT {table.partition_by} AS d FROM `{self.ref(table)}`")
        return sorted(got.column("d").to_pylist())

    def write_partitions(self, table, data, replace_dates=None) -> int:
        data = data.select(table.column_names).cast(table.arrow_schema())
        present = set(data.column(table.partition_by).to_pylist())
        dates = sorted(present | set(replace_dates or ()))
        if not dates:
            return 0
        self.ensure_tables([table])
        cols = ", ".join(f"`{c}`" for c in table.column_names)
        statements = ["BEGIN TRANSACTION", f"DELETE FROM `{self.ref(table)}` WHERE {table.partition_by} IN UNNEST(@dates)"]
        staging = None
        if data.num_rows:
            staging = f"{self.project}.{table.dataset}.{STAGING_PREFIX}{table.name}_{uuid.uuid4().hex[:12]}"
            self._load(table, data, staging)
            statements.append(f"INSERT INTO `{self.ref(table)}` ({cols}) SELECT {cols} FROM `{staging}`")
        statements.append("COMMIT TRANSACTION")
        try:
            self.execute(";\n".join(statements) + ";", {"dates": dates}, what=f"replacing {len(dates)} partitions of {table.fqn}")
        finally:
            if staging:
                try:
                    self.client.delete_table(staging, not_found_ok=True, retry=_retry())
                except Exception:  # noqa: BLE001 - the table expires on its own
                    pass
        return data.num_rows

    def _load(self, table: Table, data: pa.Table, staging: str) -> None:
        from google.cloud import bigquery

        fields = [bigquery.SchemaField(c.name, c.type, mode="NULLABLE" if c.nullable else "REQUIRED")
                  for c in table.columns]
        buf = io.BytesIO()
        pq.write_table(data, buf)
        buf.seek(0)
        with self._calling(f"loading {data.num_rows} rows of {table.fqn} into a staging table"):
            target = bigquery.Table(staging, schema=fields)
            target.expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
            self.client.create_table(target, retry=_retry())
            config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET, schema=fields,
                                            write_disposition=bigquery.WriteDisposition.WRITE_APPEND)
            self.client.load_table_from_file(buf, staging, job_config=config).result(retry=_retry())

    # --- what is stored ------------------------------------------------------------------------
    def stored_columns(self, tables, start=None, end=None) -> dict[str, list[Stored]]:
        tables = list(tables)
        out: dict[str, list[Stored]] = {t.fqn: [] for t in tables}
        for dataset in dict.fromkeys(t.dataset for t in tables):
            names = [t.name for t in tables if t.dataset == dataset]
            try:
                got = self.query(
                    f"SELECT table_name, column_name, data_type FROM `{self.project}.{dataset}`.INFORMATION_SCHEMA.COLUMNS "
                    f"WHERE table_name IN UNNEST(@names) ORDER BY table_name, ordinal_position",
                    {"names": names},
                ).to_pylist()
            except QueryError as exc:
                if "not found" in exc.reason.lower():
                    continue  # no such dataset yet: nothing stored
                raise
            fields: dict[str, list[pa.Field]] = {}
            for row in got:
                arrow = ARROW_OF_BIGQUERY.get(row["data_type"].upper(), pa.null())
                fields.setdefault(row["table_name"], []).append(pa.field(row["column_name"], arrow))
            for name, fs in fields.items():
                out[f"{dataset}.{name}"] = [Stored(f"{self.project}.{dataset}.{name}", pa.schema(fs))]
        return out

    def event_day_counts(self, table, column, start, end_excl) -> DayCounts:
        if not self._exists(table):
            return DayCounts({})
        got = self.query(
            f"SELECT DATE(`{column}`) AS day, COUNT(*) AS n FROM `{self.ref(table)}` "
            f"WHERE `{column}` >= @lo AND `{column}` < @hi GROUP BY day",
            {"lo": start, "hi": end_excl},
        ).to_pylist()
        return DayCounts({r["day"]: r["n"] for r in got})
