"""Whether the derived tables are what a transform would write now, so a backfill can skip it.

A local transform that commits records, in ``checkpoints/transform.json``, the range it
transformed and a fingerprint of everything its output depends on:

- every file of the raw and derived tables (name, size, modification time in ns): a
  write anywhere (an import, ``nbafs generate``, ``nbafs push-lines``, another
  transform, a file copied in by hand) changes it;
- the text of the transformations' SQL and of the Python that transpiles, runs, checks
  and writes them (``transformations/``, ``warehouse/``, ``nbafs/timeline.py``), and
  the versions of DuckDB, sqlglot and pyarrow.

``nbafs backfill`` asks ``up_to_date(start, end)``: when the recorded range covers
start..end and the fingerprint is the same, rerunning the transform would rewrite the
same rows (the transform is idempotent), so the backfill says so and skips it
(``--retransform`` runs it anyway). Anything else (no record, another range, any
change) runs the transform: the check can only cost a transform, never skip a needed one.

Local profile only: in production BigQuery holds the tables, and the backfill always
runs the transform there.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from nbafs import paths
from warehouse import storage
from warehouse.schema import ALL_TABLES

RECORD = "transform.json"
# The code whose text decides what a transform writes, relative to the repository.
CODE = ("transformations", "warehouse", "nbafs/timeline.py")


@dataclass(frozen=True)
class Fresh:
    """The transform whose output the warehouse still holds, untouched since."""

    start: dt.date
    end: dt.date
    at: str  # when it committed, ISO 8601 UTC

    def describe(self) -> str:
        return (f"up to date: the warehouse holds what the transform of {self.start}..{self.end} wrote at {self.at}, "
                f"and no table file, SQL or transformation code changed since")


def record(start: dt.date, end: dt.date) -> None:
    """After a committed local transform of start..end: what it left, for ``up_to_date``."""
    body = {"start": start.isoformat(), "end": end.isoformat(),
            "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "fingerprint": fingerprint()}
    path = _record_path()
    tmp = path.with_name(f".{RECORD}.tmp")
    tmp.write_text(json.dumps(body, indent=1))
    tmp.replace(path)


def forget() -> None:
    """Before a transform writes: until it commits, no record vouches for the tables."""
    _record_path().unlink(missing_ok=True)


def up_to_date(start: dt.date, end: dt.date) -> Fresh | None:
    """The recorded transform when it covers start..end and nothing it depends on changed since; else None."""
    try:
        body = json.loads(_record_path().read_text())
        fresh = Fresh(dt.date.fromisoformat(body["start"]), dt.date.fromisoformat(body["end"]), body["at"])
        recorded = body["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no record, or one we cannot read: transform
    if not (fresh.start <= start and end <= fresh.end):
        return None
    return fresh if recorded == fingerprint() else None


def _record_path() -> Path:
    return paths.checkpoints_dir() / RECORD


def fingerprint() -> str:
    """A digest of every table file's name, size and mtime, and of the code and library versions."""
    import duckdb
    import pyarrow
    import sqlglot

    h = hashlib.sha256()
    h.update(f"duckdb {duckdb.__version__} sqlglot {sqlglot.__version__} pyarrow {pyarrow.__version__}\n".encode())
    for path in _code_files():
        name = path.relative_to(paths.REPO_ROOT) if path.is_relative_to(paths.REPO_ROOT) else path
        h.update(f"{name}\n".encode())
        h.update(path.read_bytes())
    root = paths.warehouse_dir()
    for table in ALL_TABLES:
        for f in storage.files(table):
            st = f.stat()
            h.update(f"{f.relative_to(root)} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _code_files() -> list[Path]:
    out: list[Path] = []
    for name in CODE:
        p = paths.REPO_ROOT / name
        out.extend(sorted(f for f in p.rglob("*") if f.suffix in (".py", ".sql")) if p.is_dir() else [p])
    return out
