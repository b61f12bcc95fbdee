"""Checkpoints: how far a materialization of one feature view got, so a killed run resumes.

A checkpoint is saved *after* each chunk's online write has committed. A run killed at
any moment therefore finds, at worst, a checkpoint one chunk behind what was written;
that chunk is written again with the very same values and event timestamps, which the
online store accepts as an identical overwrite (or skips as not newer). So a resumed
run ends with the same online store as an uninterrupted one.

A checkpoint belongs to one *run*: the view's definition, the window start and end.
Starting the same run again resumes after ``done_through``; starting a different run
(another window, a changed view) starts from the window start. A *completed* run is
not skipped when started again: it is rewritten (see ``CheckpointStore.begin``). The
per-date quality-gate figures of the chunks already written are kept too, and a resumed
run reloads them: the report of a resumed run still covers every date.

One interface, ``CheckpointStore``, two places (``materialize/state.py`` picks one by profile):

- ``FileCheckpointStore`` (local): ``NBAFS_DATA_DIR/checkpoints/<project>/<view>.json``,
  rewritten atomically (temp file, rename), and ``<view>.dates.jsonl`` beside it
  (appended, one line per date, so saving stays O(chunk)). The guarantee is against the
  process dying at any instant (``kill -9``, OOM, Ctrl-C), which the rename covers. No
  fsync: after a power loss the checkpoint could otherwise outlive the online store's
  last commits and skip them.
- ``GcsCheckpointStore`` (prod): one object per view, ``gs://$NBAFS_GCS_BUCKET/feast/state/<project>/checkpoints/<view>.json``
  (state and dates together), each save conditioned on the generation this run last
  read or wrote. Another writer in between (two runs on one store: the store lock's
  lease was lost) is a :class:`CheckpointConflictError`, and this run stops.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable

from nbafs import paths
from nbafs.errors import UserError


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


class CheckpointConflictError(UserError):
    """Another run wrote a checkpoint of this store since this run last read or wrote it."""


class CheckpointStore(ABC):
    """The checkpoints of one Feast project (one implementation per place, see the module docstring)."""

    where: str  # the folder or object prefix, for messages

    @abstractmethod
    def load(self, view: str) -> Checkpoint | None:
        """The view's checkpoint, without its per-date figures."""

    @abstractmethod
    def save(self, cp: Checkpoint, new_dates: dict[str, dict[str, Any]] | None = None) -> None:
        """Record the chunk just written: its per-date figures, then the checkpoint itself."""

    @abstractmethod
    def load_with_dates(self, view: str) -> Checkpoint | None:
        """The checkpoint with its per-date figures (for reports)."""

    @abstractmethod
    def _load_dates(self, view: str, key: str) -> dict[str, dict[str, Any]]:
        """The per-date figures saved by the run ``key``."""

    @abstractmethod
    def _forget_dates(self, view: str) -> None:
        """Drop the per-date figures of earlier runs of the view."""

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
        self._forget_dates(view)
        return Checkpoint(view=view, run_key=key, start=start.isoformat(), end=end.isoformat())


def _from_state(raw: dict) -> Checkpoint:
    fields = {f.name for f in dataclasses.fields(Checkpoint)} - {"dates"}
    return Checkpoint(**{k: v for k, v in raw.items() if k in fields})


def _state(cp: Checkpoint) -> dict:
    return {k: v for k, v in dataclasses.asdict(dataclasses.replace(cp, dates={})).items() if k != "dates"}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class FileCheckpointStore(CheckpointStore):
    """The checkpoint files of one Feast project in the current data directory."""

    def __init__(self, project: str, directory: Path | None = None):
        self.dir = (directory or paths.checkpoints_dir()) / project
        self.dir.mkdir(parents=True, exist_ok=True)
        self.where = str(self.dir)

    def path(self, view: str) -> Path:
        return self.dir / f"{view}.json"

    def load(self, view: str) -> Checkpoint | None:
        try:
            raw = json.loads(self.path(view).read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            return None  # cannot happen with atomic writes; treat as no checkpoint
        return _from_state(raw)

    def dates_path(self, view: str) -> Path:
        return self.dir / f"{view}.dates.jsonl"

    def _forget_dates(self, view: str) -> None:
        self.dates_path(view).unlink(missing_ok=True)

    def save(self, cp: Checkpoint, new_dates: dict[str, dict[str, Any]] | None = None) -> None:
        # The figures go to the file only, not into cp.dates: a run's memory stays bounded by
        # its chunk, not its window (ten seasons are 13,000 date-view figure sets).
        # load_with_dates reads them back.
        if new_dates:
            with open(self.dates_path(cp.view), "a") as fh:
                fh.write("".join(
                    json.dumps({"run": cp.run_key, "date": day, "features": new_dates[day]}) + "\n"
                    for day in sorted(new_dates)
                ))
        cp.updated_at = _now()
        state = _state(cp)
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
        cp = self.load(view)
        if cp is not None:
            cp.dates = self._load_dates(view, cp.run_key)
        return cp


class GcsCheckpointStore(CheckpointStore):
    """The checkpoint objects of one Feast project under a GCS prefix, written compare-and-swap.

    ``objects`` is a ``warehouse.gcs.ObjectStore``; ``guard`` (the store lock's
    ``ensure_held``) runs before every save, so a run that lost its lease writes nothing.
    """

    def __init__(self, objects, prefix: str, guard: Callable[[], None] | None = None):
        self.objects = objects
        self.prefix = prefix.rstrip("/") + "/"
        self.guard = guard
        self.where = objects.url(self.prefix)
        self._generations: dict[str, int] = {}  # view -> generation this store last read or wrote

    def name(self, view: str) -> str:
        return f"{self.prefix}{view}.json"

    def _read(self, view: str) -> dict | None:
        version = self.objects.read(self.name(view))
        self._generations[view] = version.generation if version else 0
        if version is None:
            return None
        try:
            return json.loads(version.data)
        except ValueError:
            return None  # not ours: treated as no checkpoint (the next save replaces it)

    def load(self, view: str) -> Checkpoint | None:
        raw = self._read(view)
        return _from_state(raw["state"]) if raw and "state" in raw else None

    def load_with_dates(self, view: str) -> Checkpoint | None:
        raw = self._read(view)
        if not raw or "state" not in raw:
            return None
        cp = _from_state(raw["state"])
        cp.dates = dict(raw.get("dates") or {})
        return cp

    def _load_dates(self, view: str, key: str) -> dict[str, dict[str, Any]]:
        raw = self._read(view)
        if not raw or raw.get("state", {}).get("run_key") != key:
            return {}
        return dict(raw.get("dates") or {})

    def _forget_dates(self, view: str) -> None:
        pass  # the dates live in the checkpoint object: the run's first save replaces them

    def save(self, cp: Checkpoint, new_dates: dict[str, dict[str, Any]] | None = None) -> None:
        from warehouse.gcs import GenerationMismatch

        if self.guard is not None:
            self.guard()
        if new_dates:
            cp.dates.update(new_dates)
        cp.updated_at = _now()
        body = json.dumps({"state": _state(cp), "dates": cp.dates}, sort_keys=True).encode()
        expected = self._generations.get(cp.view, 0)
        try:
            self._generations[cp.view] = self.objects.write(
                self.name(cp.view), body, if_generation=expected, content_type="application/json")
        except GenerationMismatch as exc:
            raise CheckpointConflictError(
                f"the checkpoint {exc.url} was written by another run since this one last read or wrote it "
                f"(expected generation {exc.expected}, found {exc.current or 'none'}): two runs are materializing "
                f"the same store at once, which the store lock should prevent (was this run's lease lost?). This "
                f"run stops here; run it again when the other has finished: it resumes from the checkpoint."
            ) from None
