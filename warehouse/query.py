"""Run any SQL on the warehouse of the active profile (DuckDB over NBAFS_DATA_DIR, or BigQuery).

    nbafs query "SELECT game_date, COUNT(*) FROM nba_analytics.player_game_summary GROUP BY 1 ORDER BY 1"
    nbafs query --format csv "SELECT * FROM nba_precompute.player_composite_factors" > factors.csv
    nbafs query --format json "SELECT * FROM nba_raw.schedule LIMIT 3"
    nbafs query --dialect duckdb "SELECT arg_max(points, game_date) FROM nba_raw.bdl_player_boxscores"
    echo "SELECT 1" | nbafs query -
    NBAFS_PROFILE=prod nbafs query "SELECT COUNT(*) FROM nba_raw.schedule"     on BigQuery

The SQL is BigQuery's (the production truth): with NBAFS_PROFILE=prod it runs on
BigQuery as written, locally it is transpiled to DuckDB with sqlglot. --dialect duckdb
sends DuckDB SQL as it is to the local warehouse (local profile only).

Tables are named as in BigQuery: nba_raw.bdl_player_boxscores, nba_raw.team_boxscores,
nba_raw.schedule, nba_raw.odds_api_player_points_props,
nba_analytics.player_game_summary, nba_analytics.player_points_line_consensus,
nba_analytics.upcoming_player_game_context, nba_precompute.player_composite_factors
(`nbafs schema --markdown` lists their columns). Locally the warehouse is read-only
here: the views read the parquet partitions, and nothing is written back.

--format table (default) prints at most --max-rows rows and says how many there were;
csv and json print every row (json: one array of objects, dates and times in ISO 8601).
"""
from __future__ import annotations

import argparse
import decimal
import json
import math
import sys

import pandas as pd
import pyarrow as pa

from nbafs.errors import UserError
from warehouse import engine
from warehouse.schema import ALL_TABLES

FORMATS = ("table", "csv", "json")
DIALECTS = ("bigquery", "duckdb")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", metavar="SQL", help="the query; '-' reads it from standard input")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument(
        "--dialect", choices=DIALECTS, default="bigquery",
        help="bigquery (default): BigQuery SQL, transpiled to DuckDB locally; duckdb: DuckDB SQL as it is "
             "(local profile only)",
    )
    parser.add_argument("--max-rows", type=int, default=100, help="rows shown by --format table (default: 100)")


def query(sql: str, dialect: str = "bigquery") -> pa.Table:
    """Run ``sql`` on the active profile's warehouse and return the rows (Arrow)."""
    wh = engine.current()
    try:
        if dialect == "duckdb":
            if wh.name != "duckdb":
                raise UserError(
                    f"--dialect duckdb runs DuckDB SQL on the local warehouse only; the prod profile queries "
                    f"{wh.where()}: write the query in BigQuery SQL and drop --dialect duckdb."
                )
            return wh.query_duckdb(sql)
        return wh.query(sql)
    except engine.QueryError as exc:
        tables = ", ".join(t.fqn for t in ALL_TABLES)
        raise UserError(f"{exc}\nTables: {tables}") from None


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
