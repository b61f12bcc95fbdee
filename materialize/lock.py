"""One writer at a time per store: an OS file lock under ``NBAFS_DATA_DIR/locks/``.

``nbafs backfill`` and the batch engine (so plain ``feast materialize`` too) hold
``locks/store.lock`` while they write. A second run on the same data directory waits,
saying who holds the lock, or refuses at once with ``wait=False``
(``nbafs backfill --no-wait``). Stores in other data directories are independent.

The lock is ``flock(2)``: the kernel releases it when the holder dies, even by
``kill -9``, so a crashed run never leaves a stale lock behind. It is re-entrant
within a process (the backfill holds it and the engine it calls takes it again).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sys
from pathlib import Path
from typing import Callable, Iterator

from nbafs import paths
from nbafs.errors import UserError

_HELD: dict[str, tuple[int, int]] = {}  # lock path -> (fd, depth) held by this process


class StoreBusyError(UserError):
    """Another run holds the store lock and we were told not to wait."""


def lock_path() -> Path:
    d = paths.data_dir() / "locks"
    d.mkdir(parents=True, exist_ok=True)
    return d / "store.lock"


def holder() -> dict | None:
    """Who holds (or last held) the lock: pid, purpose, command, since."""
    try:
        return json.loads(lock_path().with_suffix(".holder.json").read_text())
    except (OSError, ValueError):
        return None


def _describe(h: dict | None) -> str:
    if not h:
        return "another process"
    return f"{h.get('purpose', '?')} (pid {h.get('pid')}, since {h.get('since')}: {h.get('command')})"


@contextlib.contextmanager
def store_lock(purpose: str, wait: bool = True, say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the store lock for the block. ``say`` prints the 'waiting for ...' message."""
    path = lock_path()
    key = str(path)
    if key in _HELD:  # re-entrant: the backfill already holds it for us
        fd, depth = _HELD[key]
        _HELD[key] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _HELD[key]
            _HELD[key] = (fd, depth - 1)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _describe(holder())
            if not wait:
                raise StoreBusyError(
                    f"the store in {paths.data_dir()} is busy: {who} holds {path}. Nothing was "
                    f"run. Wait for it to finish and run again (or drop --no-wait to queue behind it)."
                ) from None
            (say or (lambda m: print(m, file=sys.stderr, flush=True)))(
                f"waiting for {who} to release {path} ..."
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
        info = {
            "pid": os.getpid(),
            "purpose": purpose,
            "command": " ".join(sys.argv),
            "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        path.with_suffix(".holder.json").write_text(json.dumps(info))
        _HELD[key] = (fd, 1)
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # closing the descriptor releases the flock
