"""The phase transformations as data: which SQL file builds which table, in which order.

Each step is one BigQuery SQL file under ``transformations/sql/`` (the production truth)
and the table of ``warehouse/schema.py`` it fills. The same steps drive the local run
(``transformations.runner``: transpiled to DuckDB with sqlglot) and the production run
(``transformations.bigquery``: submitted as they are, with query parameters).

The SQL takes two DATE parameters, ``@start_date`` and ``@end_date``: rows come out for
game dates in that range; windows read the history before it.

``Step.inputs`` finds the tables and columns a step reads by resolving every column of
the SQL against the declared schemas (sqlglot's qualify + scope analysis), so the input
checks never need a hand-kept list that could drift from the SQL.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from warehouse.columns import ColumnRead, declared_type
from warehouse.engine_duckdb import bind_dates, date_template
from warehouse.schema import (
    ALL_TABLES,
    DUCKDB_TYPES,
    PLAYER_COMPOSITE_FACTORS,
    PLAYER_GAME_SUMMARY,
    PLAYER_AVAILABILITY,
    PLAYER_POINTS_LINE_CONSENSUS,
    PLAYER_PROP_LINES,
    PLAYER_SEASON_PRIOR,
    PLAYER_STAT_FORM,
    UPCOMING_PLAYER_GAME_CONTEXT,
    Table,
)

SQL_DIR = Path(__file__).resolve().parent / "sql"
PARAMETERS = ("start_date", "end_date")


@dataclass(frozen=True)
class Step:
    table: Table
    sql_file: str  # relative to transformations/sql/

    @property
    def path(self) -> Path:
        return SQL_DIR / self.sql_file

    @property
    def display_path(self) -> str:
        return f"transformations/sql/{self.sql_file}"

    @property
    def sql(self) -> str:
        """The BigQuery SQL, as written in the file."""
        return _read(self.path)

    def parsed(self) -> exp.Expression:
        return _parse(self.path)

    def duckdb_sql(self, start: dt.date, end: dt.date) -> str:
        """The step transpiled to DuckDB with the date parameters bound as DATE literals."""
        return bind_dates(date_template(self.sql, PARAMETERS), {"start_date": start, "end_date": end})

    def inputs(self) -> dict[str, list[str]]:
        """``{"dataset.table": [columns read]}`` for every table the SQL reads."""
        return _inputs(self.path)


# The order matters: each layer reads the ones before it.
STEPS: tuple[Step, ...] = (
    Step(PLAYER_GAME_SUMMARY, "analytics/player_game_summary.sql"),
    Step(PLAYER_POINTS_LINE_CONSENSUS, "analytics/player_points_line_consensus.sql"),
    Step(PLAYER_PROP_LINES, "analytics/player_prop_lines.sql"),
    Step(UPCOMING_PLAYER_GAME_CONTEXT, "analytics/upcoming_player_game_context.sql"),
    Step(PLAYER_STAT_FORM, "analytics/player_stat_form.sql"),
    Step(PLAYER_AVAILABILITY, "analytics/player_availability.sql"),
    Step(PLAYER_SEASON_PRIOR, "analytics/player_season_prior.sql"),
    Step(PLAYER_COMPOSITE_FACTORS, "precompute/player_composite_factors.sql"),
)

PRODUCED = {s.table.fqn for s in STEPS}


# How the SQL may use @start_date: a range's own bound, the first day of its season (from
# its year and month), or a fixed interval before it. history_years() reads them.
_START_USES = re.compile(
    r"BETWEEN\s+@start_date\b"
    r"|EXTRACT\s*\(\s*(?:YEAR|MONTH)\s+FROM\s+@start_date\s*\)"
    r"|DATE_SUB\s*\(\s*@start_date\s*,\s*INTERVAL\s+(?P<n>\d+)\s+(?P<unit>YEAR|MONTH|DAY)\s*\)",
    re.IGNORECASE,
)


@functools.cache
def history_years() -> int:
    """How many years before @start_date the steps' SQL reads, at most (at least 1: the season's start).

    The local transform opens only the files of those dates (``runner.read_window``), so a
    file reading further back must say so in a form this function knows, or it is refused
    here instead of reading less than it asks for without a word.
    """
    years = 1
    for step in STEPS:
        text = re.sub(r"--[^\n]*", "", step.sql)  # comments mention @start_date too
        known = list(_START_USES.finditer(text))
        if len(known) != text.count("@start_date"):
            raise ValueError(
                f"{step.display_path} uses @start_date in a form transformations/steps.py does not know "
                f"(known: BETWEEN @start_date, EXTRACT(YEAR|MONTH FROM @start_date), "
                f"DATE_SUB(@start_date, INTERVAL n YEAR|MONTH|DAY)); add it to _START_USES so the local "
                f"transform opens every file the SQL reads"
            )
        for m in known:
            if m["n"]:
                n, unit = int(m["n"]), m["unit"].upper()
                years = max(years, {"YEAR": n, "MONTH": -(-n // 12), "DAY": -(-n // 365)}[unit])
    return years


def raw_inputs() -> dict[str, list[str]]:
    """Columns read from tables no step produces (the upstream contract), merged over steps."""
    merged: dict[str, set[str]] = {}
    for step in STEPS:
        for fqn, cols in step.inputs().items():
            if fqn not in PRODUCED:
                merged.setdefault(fqn, set()).update(cols)
    return {fqn: sorted(cols) for fqn, cols in merged.items()}


def column_reads() -> list[ColumnRead]:
    """Every (table, column) the steps' SQL reads, with its declared type and the file that reads it.

    What the schema check (``warehouse.columns.check``) verifies before a transform or backfill runs.
    """
    reads = []
    for step in STEPS:
        for fqn, columns in step.inputs().items():
            for col in columns:
                reads.append(ColumnRead(fqn, col, declared_type(fqn, col) or "?", step.display_path))
    return reads


@functools.cache
def _read(path: Path) -> str:
    return path.read_text()


@functools.cache
def _parse(path: Path) -> exp.Expression:
    return sqlglot.parse_one(_read(path), read="bigquery")


def _schema() -> dict[str, dict[str, dict[str, str]]]:
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for t in ALL_TABLES:
        schema.setdefault(t.dataset, {})[t.name] = {c.name: DUCKDB_TYPES[c.type] for c in t.columns}
    return schema


@functools.cache
def _inputs(path: Path) -> dict[str, list[str]]:
    """The tables and columns the SQL file reads, resolved once per SQL text, schema and code.

    Resolving them (sqlglot's qualify over the eight files) costs about 0.9 s, paid by every
    transform, backfill preflight and apply; the answer only changes with the SQL, the
    declared schemas, this module or sqlglot, so it is kept under <data dir>/cache/ by a
    digest of all four.
    """
    import json

    from nbafs import disk_cache

    inputs = (sqlglot.__version__, _read(path), json.dumps(_schema(), sort_keys=True), Path(__file__).read_text())
    return json.loads(disk_cache.text("sql_inputs", inputs, lambda: json.dumps(_resolve_inputs(path))))


def _resolve_inputs(path: Path) -> dict[str, list[str]]:
    tree = qualify(_parse(path).copy(), schema=_schema(), dialect="bigquery", validate_qualify_columns=True)
    found: dict[str, set[str]] = {}
    for scope in traverse_scope(tree):
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table):
                found.setdefault(f"{source.db}.{source.name}", set()).add(column.name)
        # Tables read only through COUNT(*) or joins on no column still count as inputs.
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                found.setdefault(f"{source.db}.{source.name}", set())
    return {fqn: sorted(cols) for fqn, cols in sorted(found.items())}
