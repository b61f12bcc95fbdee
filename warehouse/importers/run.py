"""``import_paths``: one import run over files and folders, all or nothing.

A run has two phases:

1. Read and validate. Files are recognized by their columns (``detect``) and processed
   in dependency order: the NBA.com team logs first (they define the games), then the
   RealGM player logs (which need the games), the NBA.com player logs (a cross-check of
   the RealGM rows) and the betting lines (which need the games too). Every row that
   will be written is checked against its table's declaration (``warehouse.validate.
   conform``) here. Any problem stops the run before the first write: a bad file writes
   nothing, and neither do the good files beside it.
2. Write. Each table's rows replace the game-date partitions the files own
   (``Warehouse.write_partitions`` of the active engine), so importing the same files again gives
   the same tables.

Files named on the command line must match a format; files found in a folder that match
none (e.g. season-total tables) are skipped with a line that says why.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pandas as pd
import pyarrow as pa

from nbafs.errors import UserError
from warehouse import engine, schema
from warehouse.importers import detect
from warehouse.importers.common import NOTHING_WRITTEN, FileReport, ImportError_, Progress, read_rows
from warehouse.schema import Table
from warehouse.validate import conform


@dataclass
class TableWrite:
    rows: int
    partitions: int
    first: dt.date | None
    last: dt.date | None


@dataclass
class ImportReport:
    """What a run did: one report per imported file, files skipped, rows per table."""

    files: list[FileReport] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    written: dict[str, TableWrite] = field(default_factory=dict)
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def rows_written(self) -> dict[str, int]:
        """Rows written per table, e.g. {"nba_raw.schedule": 1230, ...}."""
        return {fqn: w.rows for fqn, w in self.written.items()}

    def file(self, format_key: str) -> FileReport:
        for f in self.files:
            if f.format.key == format_key:
                return f
        raise KeyError(f"no file of format {format_key!r} in this run")


@dataclass
class _Staged:
    data: pa.Table
    replace_dates: set[dt.date]
    source: Path
    keep_existing: Callable[[pd.DataFrame], pd.Series] | None


class ImportRun:
    """The state of one run: rows staged per table, and the schedule games attach to."""

    def __init__(self) -> None:
        self._staged: dict[str, list[_Staged]] = {}
        self._tables: dict[str, Table] = {}
        self._schedule: pd.DataFrame | None = None
        self._schedule_dates: set[dt.date] = set()
        self._schedule_sources: list[Path] = []

    # -- staging ---------------------------------------------------------------------
    def stage(
        self, table: Table, rows: pd.DataFrame, replace_dates: Iterable[dt.date], source: Path,
        keep_existing: Callable[[pd.DataFrame], pd.Series] | None = None,
    ) -> None:
        """Validate ``rows`` for ``table`` now; they are written when the run succeeds.

        The partitions of ``replace_dates`` are replaced. ``keep_existing``, when given,
        selects warehouse rows of those dates to keep beside the new ones (e.g. the
        betting lines of snapshots this file does not hold).
        """
        data = conform(table, rows, source=str(source))
        self._tables[table.fqn] = table
        self._staged.setdefault(table.fqn, []).append(_Staged(data, set(replace_dates), source, keep_existing))

    def staged_frame(self, table: Table) -> pd.DataFrame | None:
        parts = self._staged.get(table.fqn)
        if not parts:
            return None
        return pa.concat_tables([p.data for p in parts]).to_pandas()

    def existing(self, table: Table) -> pd.DataFrame:
        return engine.current().read(table).to_pandas()

    # -- the schedule ----------------------------------------------------------------
    def set_schedule(self, games: pd.DataFrame, replace_dates: Iterable[dt.date], source: Path) -> None:
        """The games defined by team logs in this run (an earlier tip-off time is kept)."""
        old = self.existing(schema.SCHEDULE)
        if len(old):
            keys = ["game_id", "game_date", "home_team_abbr", "away_team_abbr"]
            old = old[keys + ["tipoff_at"]].dropna(subset=["tipoff_at"])
            games = games.drop(columns="tipoff_at").merge(old, on=keys, how="left")
        conform(schema.SCHEDULE, games, source=str(source))
        if self._schedule is not None:
            games = pd.concat([self._schedule, games], ignore_index=True)
        self._schedule = games
        self._schedule_dates |= set(replace_dates)
        self._schedule_sources.append(source)

    def schedule(self, needed_by: Path) -> pd.DataFrame:
        """The games rows attach to: from team logs in this run, else from the warehouse."""
        if self._schedule is None:
            games = self.existing(schema.SCHEDULE)
            if games.empty:
                raise UserError(
                    f"{needed_by}: nba_raw.schedule is empty, so its rows have no game to attach "
                    f"to: import the NBA.com team game logs first: they define game ids (or import "
                    f"both together, e.g. `nbafs import FOLDER`); {NOTHING_WRITTEN}."
                )
            self._schedule = games
        return self._schedule

    def fill_tipoffs(self, tipoffs: pd.Series, source: Path) -> int:
        """Set ``tipoff_at`` (UTC) for the games in ``tipoffs`` (indexed by game_id)."""
        games = self._schedule
        assert games is not None, "schedule() first"
        new = games["game_id"].map(tipoffs)
        old = pd.to_datetime(games["tipoff_at"], utc=True)
        changed = new.notna() & (old.isna() | (old != new))
        if changed.any():
            games = games.copy()
            games["tipoff_at"] = old.where(~changed, new)
            conform(schema.SCHEDULE, games, source=str(source))
            self._schedule = games
            self._schedule_dates |= set(pd.to_datetime(games.loc[changed, "game_date"]).dt.date)
            self._schedule_sources.append(source)
        return int(changed.sum())

    # -- writing ---------------------------------------------------------------------
    def write(self) -> dict[str, TableWrite]:
        if self._schedule_dates:
            games = self._schedule
            dates = pd.to_datetime(games["game_date"]).dt.date
            self.stage(schema.SCHEDULE, games[dates.isin(self._schedule_dates)],
                       self._schedule_dates, self._schedule_sources[-1])
        plan = {fqn: self._combine(self._tables[fqn], parts) for fqn, parts in self._staged.items()}
        written = {}
        wh = engine.current()
        for fqn, (data, dates) in plan.items():
            table = self._tables[fqn]
            wh.write_partitions(table, data, replace_dates=dates)
            days = sorted(set(data.column(table.partition_by).to_pylist()))
            written[fqn] = TableWrite(data.num_rows, len(days), days[0] if days else None, days[-1] if days else None)
        return written

    def _combine(self, table: Table, parts: list[_Staged]) -> tuple[pa.Table, set[dt.date]]:
        dates = set().union(*(p.replace_dates for p in parts))
        tables = [p.data for p in parts]
        keepers = [p.keep_existing for p in parts if p.keep_existing is not None]
        if keepers and dates:
            old = engine.current().read(table, min(dates), max(dates)).to_pandas()
            old = old[pd.to_datetime(old[table.partition_by]).dt.date.isin(dates)]
            for keep in keepers:
                old = old[keep(old)]
            if len(old):
                tables.insert(0, conform(table, old.reset_index(drop=True), source=f"{table.fqn} (kept rows)"))
        data = pa.concat_tables(tables)
        if len(parts) > 1:
            keys = data.select(list(table.grain)).to_pandas()
            dup = keys.duplicated(keep=False)
            if dup.any():
                raise ImportError_(_same_rows_message(table, parts, tables, keys, dup))
        return data, dates


def _same_rows_message(table: Table, parts: list[_Staged], tables: list[pa.Table],
                       keys: pd.DataFrame, dup: pd.Series) -> str:
    """Which files hold the same rows of ``table``, the first such row, and what to do."""
    sources = [f"{table.fqn} (kept rows)"] * (len(tables) - len(parts)) + [str(p.source) for p in parts]
    source = pd.Series([s for s, t in zip(sources, tables) for _ in range(t.num_rows)], index=keys.index)
    first = keys[dup].iloc[0]
    same = (keys == first).all(axis=1)
    files = list(dict.fromkeys(source[same]))
    row = ", ".join(f"{k}={v}" for k, v in first.items())
    repeated = len(keys[dup].drop_duplicates())
    hint = ("An Odds API all-markets file holds the player_points rows of the points file of the same "
            "snapshots: import one of the two. " if table.fqn.startswith("nba_raw.odds_api") else "")
    return (
        f"{' and '.join(files)}: these files hold the same {table.fqn} rows: {repeated:,} rows "
        f"({', '.join(table.grain)}) are in more than one of them, the first {row}. {hint}Import each row from "
        f"one file only (one file per period), or remove the overlap; {NOTHING_WRITTEN}."
    )


def expand(paths: Sequence[str | Path]) -> tuple[list[Path], list[Path]]:
    """(files named explicitly, files found in folders); a missing path is an error."""
    named, found = [], []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            inside = sorted(
                f for f in p.rglob("*")
                if f.is_file() and not f.name.startswith(".") and f.name.lower().endswith(detect.SUFFIXES)
            )
            if not inside:
                raise UserError(f"{p}: the folder holds no .csv or .csv.gz file to import; {NOTHING_WRITTEN}.")
            found.extend(inside)
        elif p.is_file():
            named.append(p)
        else:
            raise UserError(f"{p}: no such file or folder. Give files or folders to import; {NOTHING_WRITTEN}.")
    return named, found


def import_paths(
    paths: Sequence[str | Path], *, dry_run: bool = False, progress: Progress | None = print,
) -> ImportReport:
    """Import the given files and folders into the raw tables; see the module docstring.

    ``dry_run`` reads and validates everything but writes nothing. ``progress`` gets one
    short line per file (and per table written); pass None for silence.
    """
    say = progress or (lambda _line: None)
    t0 = time.perf_counter()
    report = ImportReport(dry_run=dry_run)
    named, found = expand(paths)
    jobs = []
    for path in dict.fromkeys(named + found):  # each file once, in the order given
        columns = detect.read_columns(path)
        try:
            module = detect.module_for(path, columns)
        except detect.UnknownFormatError:
            if path in named:
                raise
            reason = detect.summary(columns)
            report.skipped.append((path, reason))
            say(f"{path.name}: skipped, {reason}")
            continue
        jobs.append((module.FORMAT.order, str(path), path, module, columns))
    if not jobs:
        raise UserError(f"{', '.join(map(str, paths))}: no file matches an import format; {NOTHING_WRITTEN}.")

    run = ImportRun()
    for _order, _name, path, module, _columns in sorted(jobs, key=lambda j: j[:2]):
        started = time.perf_counter()
        rows = read_rows(path, usecols=module.FORMAT.required)
        file_report = module.load(path, rows, run)
        file_report.seconds = time.perf_counter() - started
        report.files.append(file_report)
        say(file_report.line())
    if dry_run:
        say("dry run: everything validated, nothing written")
    else:
        t1 = time.perf_counter()
        report.written = run.write()
        for fqn, w in report.written.items():
            say(f"wrote {fqn}: {w.rows:,} rows in {w.partitions} game-date partitions ({w.first}..{w.last})")
        say(f"written in {time.perf_counter() - t1:.2f} s")
    report.seconds = time.perf_counter() - t0
    say(f"import done in {report.seconds:.2f} s")
    return report
