"""The schema check: every column something reads exists in the warehouse, with a usable type.

    from warehouse import columns
    columns.check([columns.ColumnRead("nba_raw.schedule", "tipoff_at", "TIMESTAMP", "my job")])

Callers say what they read (``ColumnRead``s; the collectors live with their owners:
``transformations.steps.column_reads`` for the SQL, ``materialize.preflight`` for the
feature views, the catalog and the quality gates); the active engine says what is
stored (``Warehouse.stored_columns``: every partition file's footer locally,
INFORMATION_SCHEMA.COLUMNS in BigQuery). A renamed column then stops the run before
anything is written, with one message per problem: the table, the column, where it is
missing, the closest existing name, who reads it, its declared type and what to do.
A table with nothing stored yet is skipped: there is nothing to read, so nothing can break.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Iterable

import pyarrow as pa

from warehouse import engine as engine_mod
from warehouse import schema as wschema
from warehouse.engine import Stored, Warehouse
from warehouse.validate import ValidationError, closest_name


class ColumnError(ValidationError):
    """A column something reads is missing or has an unusable type: nothing was run."""


@dataclasses.dataclass(frozen=True)
class ColumnRead:
    """One column something reads: where, what type it must have, and who reads it."""

    table: str  # "dataset.table", or the source name of a Feast FileSource outside the warehouse
    column: str
    expected: str  # BigQuery type of warehouse/schema.py (STRING, INT64...) or a Feast type (Float64...)
    reader: str  # "transformations/sql/...sql", "feature view player_game_summary", ...


@dataclasses.dataclass
class Report:
    tables_checked: list[str]
    files_checked: int  # storage units read: partition files locally, tables in BigQuery
    reads_checked: int
    skipped: list[str]  # tables with nothing stored yet
    seconds: float
    unit: str = "partition file"

    @property
    def checked(self) -> str:
        """``"412 partition files"`` / ``"5 BigQuery tables"``."""
        return f"{self.files_checked} {self.unit}{'' if self.files_checked == 1 else 's'}"


def declared_type(fqn: str, column: str) -> str | None:
    try:
        return wschema.table(fqn).column(column).type
    except KeyError:
        return None


def check(
    reads: Iterable[ColumnRead],
    start: dt.date | None = None,
    end: dt.date | None = None,
    files: dict[str, str] | None = None,
    warehouse: Warehouse | None = None,
) -> Report:
    """Check ``reads`` against what the warehouse stores; raise ColumnError naming every problem.

    ``files`` maps a source that is not a declared table (a local Feast FileSource elsewhere)
    to its parquet glob; declared tables are asked of ``warehouse`` (default: the active engine).
    """
    from warehouse.engine_duckdb import footer_schemas

    t0 = time.perf_counter()
    reads = list(reads)
    wh = warehouse or engine_mod.current()
    by_table: dict[str, list[ColumnRead]] = {}
    for r in reads:
        by_table.setdefault(r.table, []).append(r)
    declared = [wschema.table(fqn) for fqn in by_table if is_declared(fqn)]
    stored = wh.stored_columns(declared, start, end) if declared else {}
    for fqn, pattern in (files or {}).items():
        if fqn in by_table and fqn not in stored:
            stored[fqn] = footer_schemas(pattern, start, end)
    problems: list[str] = []
    skipped: list[str] = []
    n_units = 0
    for fqn, table_reads in by_table.items():
        units = stored.get(fqn) or []
        if not units:
            skipped.append(fqn)
            continue
        n_units += len(units)
        unit = wh.unit if is_declared(fqn) else "partition file"
        problems += _problems(fqn, table_reads, units, unit)
    seconds = time.perf_counter() - t0
    if problems:
        raise ColumnError(
            "preflight: " + "\n  ".join(problems)
            + "\nNothing was run or written. Rename the column back upstream (or re-import the files), or "
            "change warehouse/schema.py, the SQL and the feature definitions together; then run again."
        )
    return Report(sorted(by_table), n_units, len(reads), sorted(skipped), seconds, wh.unit)


def _problems(fqn: str, table_reads: list[ColumnRead], units: list[Stored], unit: str) -> list[str]:
    # Group units by schema: usually one group; a rename shows as two.
    groups: dict[pa.Schema, list[str]] = {}
    for u in units:
        groups.setdefault(u.schema, []).append(u.where)
    declared_names = set(wschema.table(fqn).column_names) if is_declared(fqn) else set()
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for r in table_reads:
        key = (r.column, r.expected)
        if key in seen:
            continue
        seen.add(key)
        readers = sorted({x.reader for x in table_reads if x.column == r.column})
        missing = sorted(w for s, ws in groups.items() if r.column not in s.names for w in ws)
        if missing:
            names = sorted({n for s, ws in groups.items() if r.column not in s.names for n in s.names})
            # The renamed column is the one the declarations do not know; else any other name.
            near = closest_name(r.column, [n for n in names if n not in declared_names]) or \
                closest_name(r.column, [n for n in names if n != r.column])
            typed = f", declared {r.expected} in warehouse/schema.py" if r.expected.isupper() and r.expected != "?" else ""
            out.append(
                f"{fqn} has no column {r.column!r} {_where(unit, missing, len(units))}"
                + (f"; closest existing name: {near!r}" if near else "")
                + f". Read by {', '.join(readers)}{typed}."
            )
            continue
        for s, ws in groups.items():
            actual = s.field(r.column).type
            if not compatible(r.expected, actual):
                out.append(
                    f"{fqn}.{r.column} is {actual} {_where(unit, sorted(ws), len(units))} "
                    f"but {', '.join(readers)} expects {r.expected}."
                )
                break
    return out


def _where(unit: str, where: list[str], total: int) -> str:
    if unit == "partition file":
        return f"in {len(where)} of {total} partition files (first: {where[0]})"
    return f"in {unit} {where[0]}" if total == 1 else f"in {len(where)} of {total} {unit}s (first: {where[0]})"


def is_declared(fqn: str) -> bool:
    """Whether ``fqn`` is a table of warehouse/schema.py."""
    try:
        wschema.table(fqn)
        return True
    except KeyError:
        return False


def compatible(expected: str, actual: pa.DataType) -> bool:
    """Whether a stored Arrow type can serve a column read as ``expected`` (BigQuery or Feast type)."""
    e = expected.upper().replace("FEAST_", "")
    if pa.types.is_dictionary(actual):
        actual = actual.value_type
    is_int = pa.types.is_integer(actual)
    is_num = is_int or pa.types.is_floating(actual) or pa.types.is_decimal(actual)
    if e in ("STRING",):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    if e in ("INT64", "INT32"):
        return is_int
    if e in ("FLOAT64", "FLOAT32", "FLOAT", "DOUBLE"):
        return is_num
    if e in ("BOOL",):
        return pa.types.is_boolean(actual)
    if e in ("DATE",):
        return pa.types.is_date(actual) or pa.types.is_timestamp(actual)
    if e in ("TIMESTAMP", "UNIXTIMESTAMP"):
        return pa.types.is_timestamp(actual)
    return True  # "?" or a type we do not know how to judge: existence is what matters
