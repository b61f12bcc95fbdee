"""Checkpoints: how far a materialization of one feature view got, so a killed run resumes.

One small JSON file per feature view, ``NBAFS_DATA_DIR/checkpoints/<project>/<view>.json``,
rewritten atomically (temp file, rename) *after* each chunk's online write has
committed. A run killed at any moment therefore finds, at worst, a checkpoint one
chunk behind what was written; that chunk is written again with the very same values
and event timestamps, which the online store accepts as an identical overwrite. So a
resumed run ends with the same online store as an uninterrupted one.

A checkpoint belongs to one *run*: the view's definition, the window start and end.
Starting the same run again resumes after ``done_through``; starting a different run
(another window, a changed view) starts from the window start. A *completed* run is
not skipped when started again: it is rewritten (see ``begin``).

The per-date quality-gate figures of the chunks already written go to
``<view>.dates.jsonl`` beside it (appended, one line per date, so saving stays O(chunk)),
and a resumed run reloads them: the report of a resumed run still covers every date.

Durability: the guarantee is against the process dying at any instant (``kill -9``,
OOM, Ctrl-C), which the atomic rename covers. No fsync: after a power loss the
checkpoint could otherwise outlive the online store's last commits and skip them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from nbafs import paths


@dataclasses.dataclass
class Checkpoint:
    view: str
    run_key: str
    start: str  # window start, ISO, inclusive
    end: str  # window end, ISO, inclusive (Feast's convention)
    done_through: str | None = None  # every event before this instant is written online
    completed: bool = False
    chunks_done: int = 0
    rows_read: int = 0
    rows_written: int = 0
    resumed_from: str | None = None  # set when this run picked up an interrupted one
    dates: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # date -> feature -> gate figures
    updated_at: str | None = None

    @property
    def done_through_ts(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.done_through) if self.done_through else None


def run_key(view_fingerprint: str, start: dt.datetime, end: dt.datetime) -> str:
    raw = f"{view_fingerprint}|{start.isoformat()}|{end.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class CheckpointStore:
    """The checkpoint files of one Feast project in the current data directory."""

    def __init__(self, project: str, directory: Path | None = None):
        self.dir = (directory or paths.checkpoints_dir()) / project
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, view: str) -> Path:
        return self.dir / f"{view}.json"

    def load(self, view: str) -> Checkpoint | None:
        try:
            raw = json.loads(self.path(view).read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            return None  # cannot happen with atomic writes; treat as no checkpoint
        fields = {f.name for f in dataclasses.fields(Checkpoint)} - {"dates"}
        cp = Checkpoint(**{k: v for k, v in raw.items() if k in fields})
        return cp

    def dates_path(self, view: str) -> Path:
        return self.dir / f"{view}.dates.jsonl"

    def begin(self, view: str, key: str, start: dt.datetime, end: dt.datetime) -> Checkpoint:
        """The checkpoint to continue: the interrupted run with this key, or a fresh one.

        A completed run with the same key starts over rather than being skipped: the
        offline tables may have been re-transformed since (a late correction keeps its
        event time but has a newer created_at), and skipping on a stale checkpoint would
        be exactly the silent staleness this project exists to prevent. Rewriting an
        unchanged range writes identical values with identical event timestamps, so the
        online store ends the same; it costs seconds.
        """
        old = self.load(view)
        if old is not None and old.run_key == key and not old.completed and old.done_through:
            old.resumed_from = old.done_through
            old.dates = self._load_dates(view, key)
            return old
        self.dates_path(view).unlink(missing_ok=True)
        return Checkpoint(view=view, run_key=key, start=start.isoformat(), end=end.isoformat())

    def save(self, cp: Checkpoint, new_dates: dict[str, dict[str, Any]] | None = None) -> None:
        """Record the chunk just written: its per-date figures, then the checkpoint itself."""
        if new_dates:
            cp.dates.update(new_dates)
            with open(self.dates_path(cp.view), "a") as fh:
                for day in sorted(new_dates):
                    fh.write(json.dumps({"run": cp.run_key, "date": day, "features": new_dates[day]}) + "\n")
        cp.updated_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        state = {k: v for k, v in dataclasses.asdict(
            dataclasses.replace(cp, dates={})).items() if k != "dates"}
        final = self.path(cp.view)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(tmp, final)

    def _load_dates(self, view: str, key: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        try:
            lines = self.dates_path(view).read_text().splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill: its chunk is rewritten on resume anyway
            if rec.get("run") == key:
                out[rec["date"]] = rec["features"]
        return out

    def load_with_dates(self, view: str) -> Checkpoint | None:
        """The checkpoint with its per-date figures (for reports)."""
        cp = self.load(view)
        if cp is not None:
            cp.dates = self._load_dates(view, cp.run_key)
        return cp
