"""Parquet footers of the warehouse partitions, read once per file version.

The preflight needs every partition's schema; the batch engine needs each partition's
row count and event-time range to plan its chunks without reading a row, and the
offline store's time-range reads open only the partitions whose event times overlap. Both come
from the footer (``pyarrow.parquet.read_metadata``: a few hundred bytes at the end of
the file), cached per process by (path, size, mtime), so a rewritten partition is
read again and an unchanged one never twice.
"""
from __future__ import annotations

import datetime as dt
import functools
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

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
        names = self.metadata.schema.names
        if column not in names:
            return None
        i = names.index(column)
        lo = hi = None
        for g in range(self.metadata.num_row_groups):
            stats = self.metadata.row_group(g).column(i).statistics
            if stats is None or not stats.has_min_max:
                if self.metadata.row_group(g).num_rows:
                    return None
                continue
            lo = stats.min if lo is None or stats.min < lo else lo
            hi = stats.max if hi is None or stats.max > hi else hi
        return (lo, hi) if lo is not None else None

    def time_range(self, column: str) -> tuple[dt.datetime, dt.datetime] | None:
        """(min, max) of a timestamp column as UTC datetimes (naive values are taken as UTC)."""
        if column not in self._ranges:
            mm = self.min_max(column)
            if mm is None or not all(isinstance(v, dt.datetime) for v in mm):
                self._ranges[column] = None
            else:
                self._ranges[column] = tuple(
                    v.replace(tzinfo=dt.timezone.utc) if v.tzinfo is None else v.astimezone(dt.timezone.utc) for v in mm
                )
        return self._ranges[column]


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
