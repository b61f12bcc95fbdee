"""Schema preflight: every column a transformation or feature view reads exists, with a usable type.

Run before anything is written: by ``nbafs backfill`` before the transformations, by
the batch engine before ``feast materialize`` writes, and by ``feast apply`` (the batch
engine's ``update`` hook, which apply calls before committing the registry). A renamed
upstream column then fails in well under a second with a message like::

    preflight: nba_raw.odds_api_player_points_props has no column 'created_at' in 40 of 40
    partition files (first: data/warehouse/nba_raw/odds_api_player_points_props/2025-10-21.parquet);
    closest existing name: 'scraped_at'. Read by transformations/sql/analytics/player_points_line_consensus.sql,
    declared TIMESTAMP in warehouse/schema.py. ...

(in the prod profile: ``... has no column 'created_at' in BigQuery table <project>.nba_raw...``)
instead of a batch failing halfway through a backfill.

This module says what is read, derived from the declarations rather than listed by hand:

- transformations: ``transformations.steps.column_reads`` (each SQL file's columns
  resolved with sqlglot against ``warehouse/schema.py``);
- feature views: the Feast objects when we have them (join keys, features through the
  field mapping, event and created timestamps), else the catalog (each feature's first
  ``upstream`` column is the column its view serves);
- quality gates: the columns their ``eligible_when`` conditions name.

What is stored, and the message, come from the one schema check of the warehouse
(``warehouse.columns.check``, asking the active engine: every partition file's footer
locally, INFORMATION_SCHEMA in BigQuery); the transformations run the same check.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from nbafs import paths
from warehouse import columns
from warehouse import schema as wschema
from warehouse.columns import ColumnRead, Report, declared_type, is_declared

PreflightError = columns.ColumnError
"""A column something reads is missing or has an unusable type: nothing was run."""

__all__ = ["ColumnRead", "PreflightError", "Report", "check", "run", "catalog_reads", "feature_view_reads",
           "transformation_reads", "source_table", "source_files"]


# --- what is read -------------------------------------------------------------------------


def transformation_reads() -> list[ColumnRead]:
    """Every (table, column) the phase transformations' SQL reads, with its declared type."""
    from transformations.steps import column_reads

    return column_reads()


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
            reads.append(ColumnRead(fqn, c, declared_type(fqn, c) or "?", reader))
    return reads


def source_table(data_source) -> str | None:
    """The declared ``dataset.table`` a Feast source reads, or None for a source outside the warehouse.

    A FileSource under ``warehouse/<dataset>/<table>/`` (local profile) or a BigQuerySource
    on ``<project>.<dataset>.<table>`` (prod profile).
    """
    if data_source is None:
        return None
    table = getattr(data_source, "table", None)
    if table and not getattr(data_source, "path", None):
        fqn = ".".join(str(table).replace(":", ".").split(".")[-2:])
        return fqn if is_declared(fqn) else None
    path = getattr(data_source, "path", None)
    if not path or "://" in path:
        return None
    parts = Path(path).parts
    if "warehouse" in parts:
        i = parts.index("warehouse")
        if len(parts) > i + 2:
            fqn = f"{parts[i + 1]}.{parts[i + 2]}"
            if is_declared(fqn):
                return fqn
    return None


def source_name(data_source) -> str | None:
    """What a column read of this source is filed under: its table, else its name (or path)."""
    fqn = source_table(data_source)
    if fqn:
        return fqn
    path = getattr(data_source, "path", None)
    if path and "://" not in path:
        return getattr(data_source, "name", None) or path
    return None


def source_files(views: Iterable) -> dict[str, str]:
    """``{source name: parquet glob}`` of the local FileSources outside the warehouse (checked by footer)."""
    out = {}
    for fv in views:
        src = getattr(fv, "batch_source", None)
        if src is None or source_table(src) or not getattr(src, "path", None) or "://" in src.path:
            continue
        out[source_name(src)] = str(paths.resolve_in_data_dir(src.path))
    return out


def feature_view_reads(views: Iterable) -> list[ColumnRead]:
    """What Feast feature views read from their batch sources (warehouse tables and local files)."""
    from materialize.gates import extra_columns, gates_for

    reads = []
    for fv in views:
        source = getattr(fv, "batch_source", None)
        fqn = source_name(source)
        if fqn is None:
            continue
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
            reads.append(ColumnRead(fqn, col, declared_type(fqn, col) or "?", f"{reader} (quality gate)"))
    return reads


# --- the check ----------------------------------------------------------------------------


def check(reads: list[ColumnRead], start=None, end=None, files: dict[str, str] | None = None) -> Report:
    """Check ``reads`` against what the warehouse stores (``warehouse.columns.check``)."""
    return columns.check(reads, start, end, files=files)


def run(views: Iterable | None = None) -> Report:
    """The whole preflight: transformations' reads plus the feature views' (Feast objects or catalog).

    Every partition is checked, also for a backfill of a short range: the
    transformations read the history before the range (rolling windows, season totals).
    """
    reads = transformation_reads()
    files: dict[str, str] = {}
    if views is None:
        reads += catalog_reads()
    else:
        views = list(views)
        files = source_files(views)
        reads += feature_view_reads(views)
    return check(reads, files=files)
