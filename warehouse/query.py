"""Run any SQL on the local warehouse (DuckDB over the parquet tables of NBAFS_DATA_DIR).

    nbafs query "SELECT game_date, COUNT(*) FROM nba_analytics.player_game_summary GROUP BY 1 ORDER BY 1"
    nbafs query --format csv "SELECT * FROM nba_precompute.player_composite_factors" > factors.csv
    nbafs query --format json "SELECT * FROM nba_raw.schedule LIMIT 3"
    nbafs query --dialect bigquery "SELECT SAFE_DIVIDE(1, 0)"     paste production SQL as is
    echo "SELECT 1" | nbafs query -

Tables are named as in BigQuery: nba_raw.bdl_player_boxscores, nba_raw.team_boxscores,
nba_raw.schedule, nba_raw.odds_api_player_points_props,
nba_analytics.player_game_summary, nba_analytics.player_points_line_consensus,
nba_analytics.upcoming_player_game_context, nba_precompute.player_composite_factors
(`nbafs schema --markdown` lists their columns). The warehouse is read-only here: the
views read the parquet partitions, and nothing is written back.

--format table (default) prints at most --max-rows rows and says how many there were;
csv and json print every row (json: one array of objects, dates and times in ISO 8601).
"""
from __future__ import annotations

import argparse
import decimal
import json
import math
import sys

import duckdb
import pandas as pd
import pyarrow as pa
import sqlglot

from nbafs.errors import UserError
from warehouse import storage
from warehouse.schema import ALL_TABLES

FORMATS = ("table", "csv", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", metavar="SQL", help="the query; '-' reads it from standard input")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument(
        "--dialect", choices=("duckdb", "bigquery"), default="duckdb",
        help="dialect of SQL: bigquery SQL is transpiled to DuckDB with sqlglot (default: duckdb)",
    )
    parser.add_argument("--max-rows", type=int, default=100, help="rows shown by --format table (default: 100)")


def query(sql: str, dialect: str = "duckdb") -> pa.Table:
    """Run ``sql`` on a fresh connection to the local warehouse and return the rows (Arrow)."""
    if dialect == "bigquery":
        try:
            sql = ";\n".join(sqlglot.transpile(sql, read="bigquery", write="duckdb"))
        except sqlglot.errors.ParseError as exc:
            raise UserError(f"the query is not valid BigQuery SQL: {exc}") from None
    con = storage.connect()
    try:
        rel = con.sql(sql)  # None for statements that return no rows
        return rel.to_arrow_table() if rel is not None else pa.table({})
    except duckdb.Error as exc:
        tables = ", ".join(t.fqn for t in ALL_TABLES)
        raise UserError(f"the query failed on the local warehouse: {exc}\nTables: {tables}") from None
    finally:
        con.close()


def render(result: pa.Table, fmt: str, max_rows: int = 100) -> str:
    if fmt == "json":
        rows = [{k: _json_nan(v) for k, v in row.items()} for row in result.to_pylist()]
        return json.dumps(rows, default=_json_value, indent=1, allow_nan=False) + "\n"
    df = result.to_pandas()  # dates stay dates, timestamps keep their zone
    if fmt == "csv":
        return df.to_csv(index=False)
    return _table(df, max_rows)


def _json_nan(value):
    """NaN is not JSON: it becomes null."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _json_value(value):
    """Dates and times as ISO 8601; anything else json cannot write, as text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


def _table(df: pd.DataFrame, max_rows: int) -> str:
    from rich.console import Console
    from rich.table import Table as RichTable

    shown = df.head(max_rows)
    table = RichTable(show_lines=False, header_style="bold")
    for name in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[name]) and not pd.api.types.is_bool_dtype(df[name])
        table.add_column(str(name), justify="right" if numeric else "left")
    for row in shown.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    console = Console(width=max(100, min(250, 16 * len(df.columns))), record=True, file=_Null())
    console.print(table)
    text = console.export_text()
    footer = f"{len(df):,} row(s)" + (f", showing the first {max_rows} (use --format csv for all)" if len(df) > max_rows else "")
    return text + footer + "\n"


def _cell(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return "NULL"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 and value != 0 else f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def run(args: argparse.Namespace) -> int:
    sql = sys.stdin.read() if args.sql == "-" else args.sql
    if not sql.strip():
        raise UserError("no SQL given: pass a query as the argument, or '-' to read it from standard input")
    result = query(sql, args.dialect)
    sys.stdout.write(render(result, args.format, args.max_rows))
    return 0
