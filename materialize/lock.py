"""One writer at a time per store: the store lock that backfills and ``feast materialize`` hold.

``nbafs backfill`` and the batch engine (so plain ``feast materialize`` too) hold it
while they write, through ``materialize.state.open(project).lock(purpose)``. A second run
on the same store waits, saying who holds the lock, or refuses at once with
``wait=False`` (``nbafs backfill --no-wait``). It is re-entrant within a process (the
backfill holds it and the engine it calls takes it again).

One interface, ``StoreLock``, two implementations (``materialize/state.py`` picks one by profile):

- ``FileLock`` (local): ``flock(2)`` on ``NBAFS_DATA_DIR/locks/store.lock``. The kernel
  releases it when the holder dies, even by ``kill -9``, so a crashed run never leaves a
  stale lock behind. Stores in other data directories are independent.
- ``GcsLease`` (prod): the object ``gs://$NBAFS_GCS_BUCKET/feast/state/<project>/store.lock``,
  created only if absent (``if_generation_match=0``), holding who holds it (host, pid,
  purpose, command, since) and until when (``expires``). A thread renews the lease by
  compare-and-swap on its generation every third of the lease; release deletes it after
  checking it is still ours. Nothing releases a lease of a ``kill -9``'d holder: the next
  run takes it over once it has expired, so such a holder blocks others until then
  (``NBAFS_LOCK_LEASE_SECONDS``, default 60). A holder that cannot renew in time (paused,
  cut off from GCS) loses the lock: its next checkpoint save stops it
  (:class:`LockLostError`), and the compare-and-swap on the checkpoints catches the rest.
  Machines' clocks must agree to well under the lease (NTP, as on GCE).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import sys
import threading
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, Iterator

from nbafs import paths
from nbafs.errors import UserError

LEASE_ENV = "NBAFS_LOCK_LEASE_SECONDS"
DEFAULT_LEASE_SECONDS = 60.0
UTC = dt.timezone.utc

Say = Callable[[str], None]


class StoreBusyError(UserError):
    """Another run holds the store lock and we were told not to wait."""


class LockLostError(UserError):
    """This run's lease on the store lock expired or was taken over while it was writing."""


class StoreLock(ABC):
    """A lock on one store. Use it through :func:`hold` (re-entrant, holder info)."""

    key: str  # identity of the lock: the same key in one process is the same lock
    where: str  # its path or URL, for messages
    store: str  # "the store in <dir>" / "the store gs://...", for messages

    @abstractmethod
    def acquire(self, info: dict, wait: bool, say: Say) -> None:
        """Take the lock (waiting, or StoreBusyError with ``wait=False``); ``info`` says who we are."""

    @abstractmethod
    def release(self) -> None:
        """Give the lock back."""

    @abstractmethod
    def holder(self) -> dict | None:
        """Who holds (or last held) the lock, as its holder wrote it."""

    def ensure_held(self) -> None:
        """Raise LockLostError if this process no longer holds the lock (leases only)."""


_HELD: dict[str, list] = {}  # lock key -> [lock, depth] held by this process


def held(key: str) -> StoreLock | None:
    """The lock with this key that this process holds, if any."""
    entry = _HELD.get(key)
    return entry[0] if entry else None


def holder_info(purpose: str) -> dict:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "purpose": purpose,
        "command": " ".join(sys.argv),
        "since": dt.datetime.now(UTC).isoformat(timespec="seconds"),
    }


def describe(h: dict | None) -> str:
    if not h:
        return "another process"
    host = f"{h['host']} " if h.get("host") and h.get("host") != socket.gethostname() else ""
    return f"{h.get('purpose', '?')} ({host}pid {h.get('pid')}, since {h.get('since')}: {h.get('command')})"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def hold(lock: StoreLock, purpose: str, wait: bool = True, say: Say | None = None) -> Iterator[StoreLock]:
    """Hold ``lock`` for the block. ``say`` prints the 'waiting for ...' message."""
    entry = _HELD.get(lock.key)
    if entry is not None:  # re-entrant: the backfill already holds it for us
        entry[1] += 1
        try:
            yield entry[0]
        finally:
            entry[1] -= 1
        return
    lock.acquire(holder_info(purpose), wait, say or _stderr)
    _HELD[lock.key] = [lock, 1]
    try:
        yield lock
    finally:
        del _HELD[lock.key]
        lock.release()


# --- local: flock ------------------------------------------------------------------------


class FileLock(StoreLock):
    """``flock`` on ``<data dir>/locks/store.lock``; holder info in ``store.holder.json`` beside it."""

    def __init__(self, path: Path | None = None):
        if path is None:
            d = paths.data_dir() / "locks"
            d.mkdir(parents=True, exist_ok=True)
            path = d / "store.lock"
        self.path = path
        self.key = self.where = str(path)
        self.store = f"the store in {path.parent.parent}"
        self._fd: int | None = None

    def holder(self) -> dict | None:
        try:
            return json.loads(self.path.with_suffix(".holder.json").read_text())
        except (OSError, ValueError):
            return None

    def acquire(self, info: dict, wait: bool, say: Say) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                who = describe(self.holder())
                if not wait:
                    raise StoreBusyError(
                        f"{self.store} is busy: {who} holds {self.path}. Nothing was run. Wait for it "
                        f"to finish and run again (or drop --no-wait to queue behind it)."
                    ) from None
                say(f"waiting for {who} to release {self.path} ...")
                fcntl.flock(fd, fcntl.LOCK_EX)
            self.path.with_suffix(".holder.json").write_text(json.dumps(info))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


# --- prod: a lease object on GCS -------------------------------------------------------------


def lease_seconds() -> float:
    raw = os.environ.get(LEASE_ENV, "").strip()
    if not raw:
        return DEFAULT_LEASE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise UserError(f"{LEASE_ENV}={raw!r}: expected a positive number of seconds (default {DEFAULT_LEASE_SECONDS:g}).")
    return value


def _parse_time(text: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


class GcsLease(StoreLock):
    """The store lock as a leased GCS object (see the module docstring).

    ``objects`` is a ``warehouse.gcs.ObjectStore``, ``name`` the object's name.
    """

    POLL_SECONDS = 1.0

    def __init__(self, objects, name: str, lease: float | None = None):
        self.objects = objects
        self.name = name
        self.key = self.where = objects.url(name)
        self.store = f"the store {objects.url(name.rsplit('/', 1)[0])}"
        self.lease = lease if lease is not None else lease_seconds()
        self.generation: int | None = None
        self.lost: str | None = None
        self._info: dict = {}
        self._token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._mutex = threading.Lock()  # the renewer and release never write at the same time

    # -- what is in the object
    def _body(self) -> bytes:
        now = dt.datetime.now(UTC)
        body = {**self._info, "token": self._token, "lease_seconds": self.lease,
                "expires": (now + dt.timedelta(seconds=self.lease)).isoformat(timespec="milliseconds")}
        return json.dumps(body, sort_keys=True).encode()

    def _current(self) -> tuple[dict | None, int | None]:
        version = self.objects.read(self.name)
        if version is None:
            return None, None
        try:
            return json.loads(version.data), version.generation
        except ValueError:
            return {}, version.generation  # not a lease we wrote: no expiry, so treated as expired

    def holder(self) -> dict | None:
        return self._current()[0]

    @staticmethod
    def expires(h: dict | None) -> dt.datetime | None:
        return _parse_time((h or {}).get("expires"))

    # -- acquire / renew / release
    def acquire(self, info: dict, wait: bool, say: Say) -> None:
        from warehouse.gcs import GenerationMismatch

        self._info = dict(info)
        announced = None
        while True:
            try:
                self.generation = self.objects.write(self.name, self._body(), if_generation=0,
                                                     content_type="application/json")
                break
            except GenerationMismatch:
                pass
            h, generation = self._current()
            if generation is None:
                continue  # released in between: try to create it again
            expires = self.expires(h)
            if expires is None or expires <= dt.datetime.now(UTC):
                try:
                    self.generation = self.objects.write(self.name, self._body(), if_generation=generation,
                                                         content_type="application/json")
                except GenerationMismatch:
                    continue  # someone else renewed or took it over first
                say(f"took over {self.where} from {describe(h)}: its lease expired at "
                    f"{expires.isoformat(timespec='seconds') if expires else '(unknown)'} without a release "
                    f"(that run died or lost its connection)")
                break
            who = describe(h)
            if not wait:
                raise StoreBusyError(
                    f"{self.store} is busy: {who} holds {self.where} (lease until "
                    f"{expires.isoformat(timespec='seconds')}). Nothing was run. Wait for it to finish and run "
                    f"again (or drop --no-wait to queue behind it)."
                )
            if announced != (h.get("token"), h.get("pid")):
                say(f"waiting for {who} to release {self.where} ... (if it was killed without releasing, "
                    f"e.g. kill -9, its lease blocks others until it expires at {expires.isoformat(timespec='seconds')})")
                announced = (h.get("token"), h.get("pid"))
            left = (expires - dt.datetime.now(UTC)).total_seconds()
            time.sleep(max(0.05, min(self.POLL_SECONDS, left + 0.05)))
        self.lost = None
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="nbafs-store-lease", daemon=True)
        self._renewer.start()

    def renew(self) -> bool:
        """Extend the lease by compare-and-swap on our generation; False (and ``lost`` set) if it is gone."""
        from warehouse.gcs import GenerationMismatch

        with self._mutex:
            if self.lost or self.generation is None:
                return False
            try:
                self.generation = self.objects.write(self.name, self._body(), if_generation=self.generation,
                                                     content_type="application/json")
                return True
            except GenerationMismatch as exc:
                self.lost = (f"{self.where} was taken over by another run (generation {exc.current}, ours "
                             f"{exc.expected}): our lease had expired")
                return False

    def _renew_loop(self) -> None:
        last_ok = time.monotonic()
        while not self._stop.wait(self.lease / 3):
            try:
                if not self.renew():
                    return
                last_ok = time.monotonic()
            except UserError as exc:  # GCS does not answer: keep trying while the lease lasts
                if time.monotonic() - last_ok >= self.lease:
                    self.lost = f"could not renew {self.where} before its lease ran out ({exc})"
                    return

    def ensure_held(self) -> None:
        if self.lost:
            raise LockLostError(
                f"this run no longer holds the store lock: {self.lost}. It stops before writing more; another "
                f"run may now be writing {self.store}. Run it again when that one has finished: it resumes "
                f"from the checkpoints."
            )

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        with self._mutex:
            if self.generation is not None and not self.lost:
                if not self.objects.delete(self.name, self.generation):
                    _stderr(f"{self.where} was no longer ours at release (our lease had expired and another run "
                            f"took it over); left it to its holder.")
            self.generation = None
