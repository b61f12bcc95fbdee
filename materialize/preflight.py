"""Schema preflight: every column a transformation or feature view reads exists, with a usable type.

Run before anything is written: by ``nbafs backfill`` before the transformations, by
the batch engine before ``feast materialize`` writes, and by ``feast apply`` (the batch
engine's ``update`` hook, which apply calls before committing the registry). A renamed
upstream column then fails in well under a second with a message like::

    preflight: nba_raw.odds_api_player_points_props has no column 'created_at' in 40 of 40
    partition files (first: data/warehouse/nba_raw/odds_api_player_points_props/2025-10-21.parquet);
    closest existing name: 'scraped_at'. Read by transformations/sql/analytics/player_points_line_consensus.sql,
    declared TIMESTAMP in warehouse/schema.py. ...

instead of a batch failing halfway through a backfill.

What is read, derived from the declarations rather than listed by hand:

- transformations: ``transformations.steps.STEPS``, each SQL file's columns resolved
  with sqlglot against ``warehouse/schema.py`` (``Step.inputs``);
- feature views: the Feast objects when we have them (join keys, features through the
  field mapping, event and created timestamps), else the catalog (each feature's first
  ``upstream`` column is the column its view serves);
- quality gates: the columns their ``eligible_when`` conditions name.

What exists: the parquet footers of the table's partition files
(``warehouse.footers``, cached per file version), every file (a rename in the newest partitions only
is the usual way it happens), optionally only the partitions of a date range. A table
with no partition yet is skipped: there is nothing to read, so nothing can break.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import glob
import time
from pathlib import Path
from typing import Iterable

import pyarrow as pa

from warehouse import footers
from nbafs import paths
from nbafs.errors import UserError
from warehouse import schema as wschema
from warehouse.validate import closest_name


class PreflightError(UserError):
    """A column something reads is missing or has an unusable type: nothing was run."""


@dataclasses.dataclass(frozen=True)
class ColumnRead:
    """One column something reads: where, what type it must have, and who reads it."""

    table: str  # "dataset.table", or the source path for a source outside the warehouse
    column: str
    expected: str  # BigQuery type of warehouse/schema.py (STRING, INT64...) or a Feast type (Float64...)
    reader: str  # "transformations/sql/...sql", "feature view player_game_summary", ...


@dataclasses.dataclass
class Report:
    tables_checked: list[str]
    files_checked: int
    reads_checked: int
    skipped: list[str]  # tables with no partition yet
    seconds: float


# --- what is read -------------------------------------------------------------------------


def _declared_type(fqn: str, column: str) -> str | None:
    try:
        return wschema.table(fqn).column(column).type
    except KeyError:
        return None


def transformation_reads() -> list[ColumnRead]:
    """Every (table, column) the phase transformations' SQL reads, with its declared type."""
    from transformations.steps import STEPS

    reads = []
    for step in STEPS:
        for fqn, columns in step.inputs().items():
            for col in columns:
                reads.append(ColumnRead(fqn, col, _declared_type(fqn, col) or "?", step.display_path))
    return reads


def catalog_reads() -> list[ColumnRead]:
    """What the batch feature views read, derived from feature_repo/catalog.py (no Feast import).

    A feature's first upstream column is the column its view serves; the view also reads
    the table's player key, event timestamp and created_at, and the gate's eligible_when
    columns.
    """
    from feature_repo import catalog
    from materialize.gates import condition_columns

    reads = []
    for f in catalog.FEATURES:
        if f.view in catalog.ON_DEMAND_VIEWS or f.gate is None or not f.upstream:
            continue
        fqn, _, col = f.upstream[0].rpartition(".")
        try:
            table = wschema.table(fqn)
        except KeyError:
            continue
        reader = f"feature view {f.view} (feature {f.name})"
        cols = [col, "player_lookup", "created_at"]
        if table.event_timestamp:
            cols.append(table.event_timestamp)
        cols += list(condition_columns(f.gate.eligible_when))
        for c in dict.fromkeys(cols):
            reads.append(ColumnRead(fqn, c, _declared_type(fqn, c) or "?", reader))
    return reads


def source_table(data_source) -> tuple[str, str] | None:
    """``(table name, glob)`` of a Feast FileSource: the warehouse table when the path is one."""
    path = getattr(data_source, "path", None)
    if not path or "://" in path:
        return None
    full = str(paths.resolve_in_data_dir(path))
    parts = Path(path).parts
    if len(parts) >= 3 and "warehouse" in parts:
        i = parts.index("warehouse")
        if len(parts) > i + 2:
            fqn = f"{parts[i + 1]}.{parts[i + 2]}"
            if _is_declared(fqn):
                return fqn, full
    return (getattr(data_source, "name", None) or path), full


def _is_declared(fqn: str) -> bool:
    try:
        wschema.table(fqn)
        return True
    except KeyError:
        return False


def feature_view_reads(views: Iterable) -> list[ColumnRead]:
    """What Feast feature views read from their batch sources (FileSources only)."""
    from materialize.gates import extra_columns, gates_for

    reads = []
    for fv in views:
        source = getattr(fv, "batch_source", None)
        if source is None or not hasattr(source, "path"):
            continue
        located = source_table(source)
        if located is None:
            continue
        fqn, _ = located
        reverse = {v: k for k, v in (source.field_mapping or {}).items()}
        reader = f"feature view {fv.name}"
        for ec in fv.entity_columns:
            reads.append(ColumnRead(fqn, reverse.get(ec.name, ec.name), ec.dtype.__str__(), reader))
        for f in fv.features:
            reads.append(ColumnRead(fqn, reverse.get(f.name, f.name), str(f.dtype), reader))
        reads.append(ColumnRead(fqn, source.timestamp_field, "UnixTimestamp", reader))
        if source.created_timestamp_column:
            reads.append(ColumnRead(fqn, source.created_timestamp_column, "UnixTimestamp", reader))
        gates = gates_for(fv.name, [f.name for f in fv.features])
        for col in extra_columns(gates):
            reads.append(ColumnRead(fqn, col, _declared_type(fqn, col) or "?", f"{reader} (quality gate)"))
    return reads


# --- what exists ------------------------------------------------------------------------


def _files(fqn: str, glob_pattern: str | None, start: dt.date | None, end: dt.date | None) -> list[Path]:
    if glob_pattern is None:
        dataset, _, name = fqn.partition(".")
        glob_pattern = str(paths.table_dir(dataset, name) / "*.parquet")
    files = sorted(Path(p) for p in glob.glob(glob_pattern))
    if start or end:
        kept = []
        for f in files:
            try:
                day = dt.date.fromisoformat(f.stem)
            except ValueError:
                kept.append(f)
                continue
            if (start is None or day >= start) and (end is None or day <= end):
                kept.append(f)
        files = kept
    return files


def _compatible(expected: str, actual: pa.DataType) -> bool:
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


def _display(p: Path) -> str:
    return str(p)


def check(
    reads: list[ColumnRead],
    start: dt.date | None = None,
    end: dt.date | None = None,
    globs: dict[str, str] | None = None,
) -> Report:
    """Check ``reads`` against the partition files; raise PreflightError naming every problem."""
    t0 = time.perf_counter()
    globs = globs or {}
    by_table: dict[str, list[ColumnRead]] = {}
    for r in reads:
        by_table.setdefault(r.table, []).append(r)
    problems: list[str] = []
    skipped: list[str] = []
    n_files = 0
    for fqn, table_reads in by_table.items():
        files = _files(fqn, globs.get(fqn), start, end)
        if not files:
            skipped.append(fqn)
            continue
        n_files += len(files)
        schemas = [footers.footer(f).schema for f in files]
        # Group files by schema: usually one group; a rename shows as two.
        groups: dict[pa.Schema, list[Path]] = {}
        for f, s in zip(files, schemas):
            groups.setdefault(s, []).append(f)
        seen: set[tuple[str, str]] = set()
        for r in table_reads:
            key = (r.column, r.expected)
            if key in seen:
                continue
            seen.add(key)
            readers = sorted({x.reader for x in table_reads if x.column == r.column})
            missing = [f for s, fs in groups.items() if r.column not in s.names for f in fs]
            if missing:
                names = sorted({n for s, fs in groups.items() if any(f in missing for f in fs) for n in s.names})
                near = closest_name(r.column, [n for n in names if n != r.column])
                declared = f", declared {r.expected} in warehouse/schema.py" if r.expected.isupper() and r.expected != "?" else ""
                problems.append(
                    f"{fqn} has no column {r.column!r} in {len(missing)} of {len(files)} partition files "
                    f"(first: {_display(sorted(missing)[0])})"
                    + (f"; closest existing name: {near!r}" if near else "")
                    + f". Read by {', '.join(readers)}{declared}."
                )
                continue
            for s, fs in groups.items():
                actual = s.field(r.column).type
                if not _compatible(r.expected, actual):
                    problems.append(
                        f"{fqn}.{r.column} is {actual} in {len(fs)} of {len(files)} partition files "
                        f"(first: {_display(sorted(fs)[0])}) but {', '.join(readers)} expects {r.expected}."
                    )
                    break
    seconds = time.perf_counter() - t0
    if problems:
        raise PreflightError(
            "preflight: " + "\n  ".join(problems)
            + "\nNothing was run or written. Rename the column back upstream (or re-import the files), or "
            "change warehouse/schema.py, the SQL and the feature definitions together; then run again."
        )
    return Report(sorted(by_table), n_files, len(reads), sorted(skipped), seconds)


def run(views: Iterable | None = None) -> Report:
    """The whole preflight: transformations' reads plus the feature views' (Feast objects or catalog).

    Every partition file is opened, also for a backfill of a short range: the
    transformations read the history before the range (rolling windows, season totals).
    """
    reads = transformation_reads()
    globs: dict[str, str] = {}
    if views is None:
        reads += catalog_reads()
    else:
        views = list(views)
        for fv in views:
            located = source_table(fv.batch_source) if getattr(fv, "batch_source", None) is not None else None
            if located:
                globs[located[0]] = located[1]
        reads += feature_view_reads(views)
    return check(reads, globs=globs)
