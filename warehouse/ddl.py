"""Print the declared tables (warehouse/schema.py) as BigQuery DDL or as Markdown docs.

    nbafs schema                     BigQuery DDL of every table (the default)
    nbafs schema --markdown          a Markdown section per table: grain, columns, types, descriptions
    nbafs schema --ddl nba_raw.schedule nba_analytics.player_game_summary

The DDL is what the production profile creates on its first write (``nbafs generate``,
``nbafs import``, ``nbafs transform`` with NBAFS_PROFILE=prod: ``warehouse.engine_bigquery``),
or what a platform engineer runs by hand: one CREATE TABLE per table, NOT NULL where declared, every column's description in
OPTIONS(description=...), partitioned by game_date and clustered by the rest of the
grain. Nothing here is written by hand: change warehouse/schema.py and print again.
"""
from __future__ import annotations

import argparse

from nbafs.errors import UserError
from warehouse.schema import ALL_TABLES, Table, table as declared


def _string(text: str) -> str:
    """A BigQuery string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def table_ddl(t: Table) -> str:
    width = max(len(c.name) for c in t.columns)
    lines = []
    for c in t.columns:
        null = " NOT NULL" if not c.nullable else ""
        lines.append(f"  {c.name:<{width}} {c.type}{null} OPTIONS(description={_string(c.description)})")
    cluster = [k for k in t.grain if k != t.partition_by][:4]
    out = f"CREATE TABLE IF NOT EXISTS {t.fqn} (\n" + ",\n".join(lines) + "\n)\n"
    out += f"PARTITION BY {t.partition_by}\n"
    if cluster:
        out += f"CLUSTER BY {', '.join(cluster)}\n"
    out += f"OPTIONS(description={_string(t.description + ' Grain: ' + ', '.join(t.grain) + '.')});"
    return out


def ddl(tables: tuple[Table, ...] = ALL_TABLES) -> str:
    datasets = dict.fromkeys(t.dataset for t in tables)
    head = [f"CREATE SCHEMA IF NOT EXISTS {d};" for d in datasets]
    return "\n".join(head) + "\n\n" + "\n\n".join(table_ddl(t) for t in tables) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(tables: tuple[Table, ...] = ALL_TABLES) -> str:
    parts = []
    for t in tables:
        parts.append(f"### `{t.fqn}`\n")
        parts.append(f"{t.description} Grain: {', '.join(f'`{k}`' for k in t.grain)}; "
                     f"partitioned by `{t.partition_by}`.\n")
        parts.append("| column | type | null | description |\n|---|---|---|---|")
        for c in t.columns:
            bound = f" (>= {c.min_value:g})" if c.min_value is not None else ""
            parts.append(f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {_cell(c.description)}{bound} |")
        parts.append("")
    return "\n".join(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tables", nargs="*", metavar="DATASET.TABLE", help="only these tables (default: all)")
    parser.add_argument("--ddl", action="store_true", help="BigQuery CREATE TABLE statements (the default)")
    parser.add_argument("--markdown", action="store_true", help="a Markdown docs table per table")


def run(args: argparse.Namespace) -> int:
    try:
        tables = tuple(declared(name) for name in args.tables) or ALL_TABLES
    except KeyError as exc:
        raise UserError(exc.args[0]) from None
    if args.ddl or not args.markdown:
        print(ddl(tables))
    if args.markdown:
        print(markdown(tables))
    return 0
