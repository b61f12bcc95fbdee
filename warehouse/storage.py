"""The embedded warehouse's files: one parquet file per table and month, a row group per game date.

The local engine (``warehouse.engine_duckdb``) reads and writes through this module;
everything else asks ``warehouse.engine.current()``, which is BigQuery in the prod profile.

``data/warehouse/<dataset>/<table>/<YYYY-MM>.parquet`` holds the table's game dates of
that month, sorted by game date, with the dates and their row counts in the footer
(``nbafs.dates``), so listing a table's dates reads no row; readers filtering on
``game_date`` or on the event time skip whole files from the footer's statistics.
The glob ``<table>/*.parquet`` is what Feast's DuckDB offline store reads (a
``FileSource``) and what ``connect()`` exposes to DuckDB as ``<dataset>.<table>``.
Ten seasons are about 70 files per table, against 2,500 with a file per game date.

Writes replace whole game dates: the month files they touch are rewritten (rows of
the month's other dates kept) beside their final names and renamed over them, so a
reader never sees half a file and rewriting the same dates is idempotent. ``Pending``
holds such files until ``commit()``, so the transform can read its own results before
anything is in place and a killed run leaves the previous files as they were.

Layouts: tables written before this layout have one file per game date
(``<YYYY-MM-DD>.parquet``, ``DAILY``). Each table folder keeps the layout it has, read
and written alike; a new table gets ``NBAFS_WAREHOUSE_LAYOUT`` (``monthly``, the
default, or ``daily``), and ``nbafs compact`` rewrites daily tables as monthly ones.
"""
from __future__ import annotations

import calendar
import datetime as dt
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nbafs import paths
from nbafs.errors import UserError
from warehouse import footers
from warehouse.schema import ALL_TABLES, DATASETS, DUCKDB_TYPES, FEATURE_LOG_DATASET, Table

LAYOUT_ENV = "NBAFS_WAREHOUSE_LAYOUT"
DATES_KEY = footers.DATES_KEY
ROW_GROUP_ROWS = 1 << 17


@dataclass(frozen=True)
class Layout:
    """Which game dates share a file: the file's name (its key) for each date."""

    name: str
    pattern: re.Pattern

    def key(self, day: dt.date) -> str:
        return day.isoformat() if self.name == "daily" else f"{day.year:04d}-{day.month:02d}"

    def span(self, key: str) -> tuple[dt.date, dt.date]:
        """First and last date a file of this name may hold."""
        if self.name == "daily":
            day = dt.date.fromisoformat(key)
            return day, day
        year, month = int(key[:4]), int(key[5:7])
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


DAILY = Layout("daily", re.compile(r"\d{4}-\d{2}-\d{2}"))
MONTHLY = Layout("monthly", re.compile(r"\d{4}-\d{2}"))
LAYOUTS = {layout.name: layout for layout in (MONTHLY, DAILY)}


def default_layout() -> Layout:
    """The layout of a table with no file yet: NBAFS_WAREHOUSE_LAYOUT, monthly by default."""
    name = os.environ.get(LAYOUT_ENV, MONTHLY.name).strip().lower()
    if name not in LAYOUTS:
        raise UserError(f"{LAYOUT_ENV}={name!r}: expected one of {', '.join(LAYOUTS)} (unset: monthly)")
    return LAYOUTS[name]


def layout_of_file(path: Path) -> Layout | None:
    """The layout a file's name belongs to, or None for a name no layout writes."""
    return next((lay for lay in LAYOUTS.values() if lay.pattern.fullmatch(path.stem)), None)


def table_dir(table: Table) -> Path:
    return paths.table_dir(table.dataset, table.name)


def table_glob(table: Table) -> str:
    return str(table_dir(table) / "*.parquet")


def relative_glob(table: Table) -> str:
    """The glob relative to the data dir (what the Feast FileSources store)."""
    return f"warehouse/{table.dataset}/{table.name}/*.parquet"


def files(table: Table) -> list[Path]:
    """The table's parquet files, in date order."""
    d = table_dir(table)
    return sorted(d.glob("*.parquet")) if d.exists() else []


def table_layout(table: Table) -> Layout:
    """The layout of the table's files (the default when it has none); mixed folders are refused."""
    found = {layout_of_file(f) for f in files(table)}
    if None in found:
        odd = next(f for f in files(table) if layout_of_file(f) is None)
        raise UserError(f"{odd}: not a file name of the warehouse (expected YYYY-MM.parquet or YYYY-MM-DD.parquet); "
                        f"move it out of {table_dir(table)}")
    if len(found) > 1:
        raise UserError(f"{table_dir(table)} mixes monthly (YYYY-MM) and daily (YYYY-MM-DD) files; "
                        f"run `nbafs compact` to rewrite it as monthly files")
    return found.pop() if found else default_layout()


def partition_path(table: Table, day: dt.date) -> Path:
    """The file that holds (or would hold) game date ``day``."""
    return table_dir(table) / f"{table_layout(table).key(day)}.parquet"


def file_dates(path: Path, column: str) -> list[dt.date]:
    """The distinct dates of ``column`` in a file: from its footer (``write_file``), else from the column."""
    f = footers.footer(path)
    dates = f.dates()
    if dates is None:
        dates = f.row_group_values(column)
    if dates is None:
        dates = pq.read_table(path, columns=[column]).column(0).unique().to_pylist()
    return sorted({d for d in dates if d is not None})


def partitions(table: Table) -> list[dt.date]:
    """The game dates that have rows, in order."""
    return sorted({d for f in files(table) for d in file_dates(f, table.partition_by)})


def files_between(candidates: Iterable[Path], start: dt.date | None, end: dt.date | None) -> list[Path]:
    """The files of ``candidates`` that may hold game dates of start..end (from their names; unknown names kept)."""
    out = []
    for f in candidates:
        layout = layout_of_file(f)
        lo, hi = layout.span(f.stem) if layout else (None, None)
        if lo is not None and ((start and hi < start) or (end and lo > end)):
            continue
        out.append(f)
    return out


def read_table(
    table: Table, start: dt.date | None = None, end: dt.date | None = None, columns: list[str] | None = None,
) -> pa.Table:
    """All rows of a table (optionally game dates start..end inclusive, only ``columns``) as Arrow."""
    schema = table.arrow_schema()
    if columns is not None:
        schema = pa.schema([schema.field(table.column(c).name) for c in columns])
    chosen = files_between(files(table), start, end)
    if not chosen:
        return schema.empty_table()
    filters = [(table.partition_by, op, v) for op, v in ((">=", start), ("<=", end)) if v is not None] or None
    read = None if columns is None else list(dict.fromkeys([*columns, table.partition_by]))
    parts = [pq.read_table(f, columns=read, filters=filters) for f in chosen]
    return pa.concat_tables([p.select(schema.names).cast(schema) for p in parts])


# --- writing -------------------------------------------------------------------------------


class Pending:
    """Rewritten files beside their final names, put in place together by ``commit()``.

    ``write`` may be called several times for a table (a later call merges with what an
    earlier one staged); ``files(table)`` is what a reader should see meanwhile. Files
    are staged as ``.<name>.<pid>.<random>.tmp``, which no glob of ``*.parquet`` matches,
    so a killed run leaves only invisible leftovers (removed by the next write).
    """

    def __init__(self) -> None:
        self._staged: dict[Path, Path | None] = {}  # final -> staged file, None: the final is to be deleted
        self._layouts: dict[str, Layout] = {}

    def _layout(self, table: Table) -> Layout:
        if table.fqn not in self._layouts:
            self._layouts[table.fqn] = table_layout(table)
        return self._layouts[table.fqn]

    def _current(self, final: Path) -> Path | None:
        """What a reader of ``final`` sees now: the staged version, the file in place, or nothing."""
        if final in self._staged:
            return self._staged[final]
        return final if final.exists() else None

    def write(self, table: Table, data: pa.Table, replace_dates: Iterable[dt.date] | None = None) -> int:
        """Stage ``data`` (conformed to ``table``): every game date in it replaced, ``replace_dates`` emptied."""
        data = data.select(table.column_names).cast(table.arrow_schema())
        layout = self._layout(table)
        directory = table_dir(table)
        directory.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(directory)
        dates = data.column(table.partition_by)
        present = set(pc.unique(dates).to_pylist())
        replaced = present | set(replace_dates or ())
        for key in sorted({layout.key(d) for d in replaced}):
            final = directory / f"{key}.parquet"
            lo, hi = layout.span(key)
            here = [d for d in replaced if lo <= d <= hi]
            mine = [d for d in present if lo <= d <= hi]
            new = data if len(mine) == len(present) else \
                data.filter(pc.is_in(dates, value_set=pa.array(mine, pa.date32())))
            current = self._current(final)
            if current is not None and not set(file_dates(current, table.partition_by)) <= set(here):
                kept = pq.read_table(current, filters=[(table.partition_by, "not in", here)])
                if kept.num_rows:
                    new = pa.concat_tables([kept.select(table.column_names).cast(table.arrow_schema()), new])
            self._stage(final, new, table)
        return data.num_rows

    def _stage(self, final: Path, rows: pa.Table, table: Table) -> None:
        previous = self._staged.get(final)
        if rows.num_rows == 0:
            self._staged[final] = None
        else:
            tmp = final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
            write_file(tmp, rows, table)
            self._staged[final] = tmp
        if previous is not None:
            previous.unlink(missing_ok=True)

    def files(self, table: Table, start: dt.date | None = None, end: dt.date | None = None) -> list[Path]:
        """The table's files as a reader should see them once committed (those that may hold start..end)."""
        directory = table_dir(table)
        finals = {f for f in files(table)} | {f for f in self._staged if f.parent == directory}
        return [p for p in map(self._current, files_between(sorted(finals), start, end)) if p is not None]

    def commit(self) -> None:
        """Put every staged file in place (each rename atomic) and delete the emptied ones."""
        for final, tmp in sorted(self._staged.items()):
            if tmp is None:
                final.unlink(missing_ok=True)
            else:
                os.replace(tmp, final)
        self._staged.clear()

    def discard(self) -> None:
        for tmp in self._staged.values():
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        self._staged.clear()

    def __enter__(self) -> "Pending":
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def write_file(path: Path, rows: pa.Table, table: Table) -> None:
    """One parquet file of ``table``: rows sorted by game date (stable), what they hold in the footer.

    The footer's key-value metadata says, without a row read:
    ``nbafs.dates``   the game dates and their rows (``{"2025-10-21": 214, ...}``): ``partitions``;
    ``nbafs.events``  rows per distinct event time of a Feast source's timestamp column:
                      the batch engine's chunk plan (``footer_day_counts``), exact per day.
    Row groups are large (a month of a table is one); DuckDB and Feast prune by their
    min/max statistics.
    """
    by = table.partition_by
    if rows.num_rows:
        rows = rows.take(pc.sort_indices(rows, [(by, "ascending")]))
    meta = {DATES_KEY: json.dumps(_counts(rows, by, lambda d: d.isoformat()))}
    if table.event_timestamp and table.event_timestamp in rows.column_names:
        meta[footers.EVENTS_KEY] = json.dumps({
            "column": table.event_timestamp,
            "counts": _counts(rows, table.event_timestamp, lambda t: t.astimezone(dt.timezone.utc).isoformat()),
        })
    pq.write_table(rows.replace_schema_metadata(meta), path, row_group_size=ROW_GROUP_ROWS)


def _counts(rows: pa.Table, column: str, text) -> dict[str, int]:
    if not rows.num_rows:
        return {}
    counts = pc.value_counts(rows.column(column))  # 4x cheaper than a group_by, called twice per file written
    return dict(sorted((text(v), n) for v, n in zip(counts.field("values").to_pylist(),
                                                     counts.field("counts").to_pylist()) if v is not None))


def _remove_leftovers(directory: Path) -> None:
    """Staged files of runs that died before committing (their process is gone)."""
    for tmp in directory.glob(".*.tmp"):
        parts = tmp.name.split(".")
        try:
            pid = int(parts[-3])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_partitions(
    table: Table,
    data: pa.Table,
    replace_dates: Iterable[dt.date] | None = None,
) -> int:
    """Write ``data`` (already conformed to ``table``'s schema), replacing its game dates.

    Every game date present in ``data`` is replaced. Dates in ``replace_dates`` that have
    no rows in ``data`` are emptied, so re-running a transform over a range drops rows
    that no longer exist. Returns the number of rows written.
    """
    with Pending() as pending:
        return pending.write(table, data, replace_dates)


def compact(table: Table, progress=None) -> tuple[int, int]:
    """Rewrite a daily table as monthly files; (files before, files after). A monthly table is left alone.

    The new files are built in a sibling folder, which then takes the table folder's place,
    so a reader sees either the old folder or the new one.
    """
    before = files(table)
    if table_layout(table) is MONTHLY or not before:
        return len(before), len(before)
    directory = table_dir(table)
    build = directory.with_name(f".{directory.name}.compact.{os.getpid()}")
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    by_month: dict[str, list[Path]] = {}
    for f in before:
        by_month.setdefault(MONTHLY.key(dt.date.fromisoformat(f.stem)), []).append(f)
    schema = table.arrow_schema()
    for key, month in sorted(by_month.items()):
        rows = pa.concat_tables([pq.read_table(f).select(table.column_names).cast(schema) for f in month])
        write_file(build / f"{key}.parquet", rows, table)
        if progress:
            progress(f"{table.fqn} {key}: {len(month)} daily files, {rows.num_rows:,} rows")
    rows_before = sum(footers.footer(f).num_rows for f in before)
    rows_after = sum(footers.footer(f).num_rows for f in build.glob("*.parquet"))
    if rows_before != rows_after:
        shutil.rmtree(build)
        raise UserError(f"{directory}: {rows_before:,} rows in the daily files but {rows_after:,} in the monthly ones "
                        f"built from them; nothing was changed (a file changed while compacting? run it again)")
    old = directory.with_name(f".{directory.name}.daily.{os.getpid()}")
    os.replace(directory, old)
    os.replace(build, directory)
    shutil.rmtree(old)
    return len(before), len(by_month)


# --- DuckDB views ---------------------------------------------------------------------------


def connect(database: str = ":memory:", window: tuple[dt.date, dt.date] | None = None,
            tables: Iterable[Table] | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where every declared table is a view ``dataset.table``.

    A table with no file yet is an empty table of its declared schema, so queries
    over a fresh warehouse return no rows instead of failing on a missing file.
    With ``window`` (first, last game date) each view reads only the files that may hold
    dates of it: a query over a season then opens that season's files, not every
    season's (DuckDB reads the footer of every file a view names when it binds it).
    With ``tables``, only those are views (the feature logs too only without it).
    """
    con = duckdb.connect(database)
    con.execute("SET TimeZone = 'UTC'")
    for ds in DATASETS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {ds}")
    for t in ALL_TABLES if tables is None else tables:
        attach_table(con, t, None if window is None else files_between(files(t), *window))
    if tables is None:
        attach_feature_logs(con)
    return con


def attach_feature_logs(con: duckdb.DuckDBPyConnection) -> None:
    """A view ``nba_feast_logs.<service>`` per feature service with logged rows.

    Written by our offline store's ``write_logged_features`` (``<service>/__log_date=<date>/*.parquet``,
    Feast's logging schema, the date kept in the files too).
    """
    root = paths.warehouse_dir() / FEATURE_LOG_DATASET
    services = sorted(d for d in root.glob("*") if d.is_dir() and any(d.glob("*/*.parquet"))) if root.exists() else []
    if not services:
        return
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {FEATURE_LOG_DATASET}")
    for d in services:
        glob = str(d / "*" / "*.parquet").replace("'", "''")
        con.execute(f'CREATE VIEW {FEATURE_LOG_DATASET}."{d.name}" AS SELECT * FROM '
                    f"read_parquet('{glob}', union_by_name = true, hive_partitioning = false)")


def attach_table(con: duckdb.DuckDBPyConnection, table: Table, table_files: list[Path] | None = None) -> None:
    """(Re)define the view for one table over its files (or over ``table_files``, e.g. staged ones)."""
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [table.dataset, table.name],
    ).fetchone()
    if kind is not None:
        con.execute(f"DROP {'VIEW' if kind[0] == 'VIEW' else 'TABLE'} {table.fqn}")
    chosen = files(table) if table_files is None else table_files
    if chosen:
        cols = ", ".join(f'CAST("{c.name}" AS {DUCKDB_TYPES[c.type]}) AS "{c.name}"' for c in table.columns)
        source = (f"'{table_glob(table)}'" if table_files is None
                  else "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in chosen) + "]")
        con.execute(f"CREATE VIEW {table.fqn} AS SELECT {cols} FROM read_parquet({source}, union_by_name=true)")
    else:
        cols = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.type]}' for c in table.columns)
        con.execute(f"CREATE TABLE {table.fqn} ({cols})")
