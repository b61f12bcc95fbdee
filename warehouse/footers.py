"""Parquet footers of the warehouse partitions, read once per file version.

The preflight needs every file's schema; the batch engine needs each row group's
row count and event-time range (a row group is a game date in the warehouse's files) to
plan its chunks without reading a row; the warehouse lists a table's game dates from
the row groups' statistics; and the offline store's time-range reads open only the
files whose event times overlap. Both come
from the footer (``pyarrow.parquet.read_metadata``: a few hundred bytes at the end of
the file), cached per process by (path, size, mtime), so a rewritten partition is
read again and an unchanged one never twice.
"""
from __future__ import annotations

import datetime as dt
import functools
import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DATES_KEY = "nbafs.dates"  # footer key-value: the file's game dates and rows per date (warehouse.storage)
EVENTS_KEY = "nbafs.events"  # footer key-value: rows per distinct event time of the Feast timestamp column

_CACHE: dict[tuple[str, int, int], "Footer"] = {}


@dataclass(frozen=True)
class Footer:
    path: Path
    metadata: pq.FileMetaData
    _ranges: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_rows(self) -> int:
        return self.metadata.num_rows

    @functools.cached_property
    def schema(self) -> pa.Schema:
        return self.metadata.schema.to_arrow_schema().remove_metadata()

    def min_max(self, column: str) -> tuple[object, object] | None:
        """(min, max) of a column over the file from row-group statistics; None if unknown."""
        groups = self.row_group_min_max(column)
        if not groups:
            return None
        return min(lo for lo, _, _ in groups), max(hi for _, hi, _ in groups)

    def dates(self) -> list[dt.date] | None:
        """The game dates a warehouse file holds (its ``nbafs.dates`` metadata); None for other files."""
        meta = self.metadata.metadata or {}
        raw = meta.get(DATES_KEY.encode())
        if raw is None:
            return None
        return [dt.date.fromisoformat(d) for d in json.loads(raw)]

    def event_counts(self, column: str) -> list[tuple[dt.datetime, int]] | None:
        """(event time, rows) per distinct value of ``column`` (its ``nbafs.events`` metadata); None if not kept."""
        meta = self.metadata.metadata or {}
        raw = meta.get(EVENTS_KEY.encode())
        if raw is None:
            return None
        events = json.loads(raw)
        if events.get("column") != column:
            return None
        return [(dt.datetime.fromisoformat(t), n) for t, n in events["counts"].items()]

    def row_group_min_max(self, column: str) -> list[tuple[object, object, int]] | None:
        """(min, max, rows) of a column per non-empty row group; None if a group has no statistics."""
        names = self.metadata.schema.names
        if column not in names:
            return None
        i = names.index(column)
        out = []
        for g in range(self.metadata.num_row_groups):
            group = self.metadata.row_group(g)
            if not group.num_rows:
                continue
            stats = group.column(i).statistics
            if stats is None or not stats.has_min_max:
                return None
            out.append((stats.min, stats.max, group.num_rows))
        return out

    def row_group_values(self, column: str) -> list[object] | None:
        """The value of ``column`` per row group, when each group holds one value (min == max); else None."""
        groups = self.row_group_min_max(column)
        if groups is None or any(lo != hi for lo, hi, _ in groups):
            return None
        return [lo for lo, _, _ in groups]

    def row_group_time_ranges(self, column: str) -> list[tuple[dt.datetime, dt.datetime, int]] | None:
        """(min, max, rows) of a timestamp column per row group, as UTC datetimes; None if unknown."""
        groups = self.row_group_min_max(column)
        if groups is None or not all(isinstance(v, dt.datetime) for lo, hi, _ in groups for v in (lo, hi)):
            return None
        return [(_as_utc(lo), _as_utc(hi), n) for lo, hi, n in groups]

    def time_range(self, column: str) -> tuple[dt.datetime, dt.datetime] | None:
        """(min, max) of a timestamp column as UTC datetimes (naive values are taken as UTC)."""
        if column not in self._ranges:
            mm = self.min_max(column)
            if mm is None or not all(isinstance(v, dt.datetime) for v in mm):
                self._ranges[column] = None
            else:
                self._ranges[column] = tuple(_as_utc(v) for v in mm)
        return self._ranges[column]


def _as_utc(v: dt.datetime) -> dt.datetime:
    return v.replace(tzinfo=dt.timezone.utc) if v.tzinfo is None else v.astimezone(dt.timezone.utc)


def footer(path: str | Path) -> Footer:
    st = os.stat(path)
    key = (str(path), st.st_size, st.st_mtime_ns)
    hit = _CACHE.get(key)
    if hit is None:
        hit = _CACHE[key] = Footer(Path(path), pq.read_metadata(path))
    return hit


def footers(pattern: str) -> list[Footer]:
    """Footers of every file matching a glob, in path order."""
    return [footer(p) for p in sorted(glob.glob(pattern))]
