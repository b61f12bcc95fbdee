"""One progress display for long runs: a rich bar on a terminal, plain log lines elsewhere.

A run (``nbafs backfill``, ``feast materialize``) opens one :class:`Display`; each of
its phases (preflight, transform, materialize, verify) is a :class:`Phase` counting
rows and game dates, with the rate and the time left::

    materialize  ━━━━━━━━━━━━━━━━━━━━━━╸━━━━━━━  31,204/46,710 rows  52/79 dates  148,920 rows/s  ETA 0:00:01

Off a terminal (CI, ``| tee``, a log file) the same facts come as one line per step
at most every ``PLAIN_EVERY_S`` seconds, plus a line when the phase ends::

    materialize: 52/79 dates, 31,204/46,710 rows, 148,920 rows/s, ETA 0.1s

``NBAFS_PROGRESS=rich|plain|off`` forces a mode. The engine asks :func:`current` for a
display already open (the backfill's) and adds its phase there, so a backfill shows
one display, not one per step.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Iterator, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

PLAIN_EVERY_S = 1.0
_CURRENT: "Display | None" = None


def _mode(stream: TextIO) -> str:
    forced = os.environ.get("NBAFS_PROGRESS", "").strip().lower()
    if forced in ("rich", "plain", "off"):
        return forced
    return "rich" if getattr(stream, "isatty", lambda: False)() else "plain"


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "?"
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(int(s), 60)
    return f"{m}m{s:02d}s"


class Phase:
    """One step of a run: counts rows and dates against their totals."""

    def __init__(self, display: "Display", name: str, total_rows: int | None, total_dates: int | None):
        self.display = display
        self.name = name
        self.total_rows = total_rows
        self.total_dates = total_dates
        self.rows = 0
        self.dates = 0
        self.started = time.perf_counter()
        self.ended: float | None = None
        self.failed = False
        self._last_line = 0.0
        self._task = None
        if display._progress is not None:
            self._task = display._progress.add_task(
                name, total=total_rows, dates=0, total_dates=total_dates if total_dates is not None else "?",
            )

    # -- counting ---------------------------------------------------------------------
    def set_totals(self, rows: int | None = None, dates: int | None = None) -> None:
        if rows is not None:
            self.total_rows = rows
        if dates is not None:
            self.total_dates = dates
        if self._task is not None:
            self.display._progress.update(
                self._task, total=self.total_rows,
                total_dates=self.total_dates if self.total_dates is not None else "?",
            )

    def advance(self, rows: int = 0, dates: int = 0) -> None:
        self.rows += rows
        self.dates += dates
        if self._task is not None:
            self.display._progress.update(self._task, completed=self.rows, dates=self.dates)
        elif self.display.mode == "plain" and not (self.total_rows is not None and self.rows >= self.total_rows):
            now = time.perf_counter()  # (the last step is said by finish())
            if now - self._last_line >= PLAIN_EVERY_S:
                self._last_line = now
                self.display.line(self.status())

    def note(self, text: str) -> None:
        """A message that must be seen (e.g. 'waiting for the lock'), in every mode but off."""
        self.display.line(f"{self.name}: {text}")

    # -- figures ----------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return (self.ended or time.perf_counter()) - self.started

    @property
    def rate(self) -> float | None:
        e = self.elapsed
        return self.rows / e if e > 0 and self.rows else None

    @property
    def eta(self) -> float | None:
        if self.total_rows is None or not self.rate:
            return None
        return max(self.total_rows - self.rows, 0) / self.rate

    def status(self) -> str:
        parts = []
        if self.total_dates is not None:
            parts.append(f"{self.dates}/{self.total_dates} dates")
        if self.rows or self.total_rows:
            parts.append(f"{self.rows:,}/{self.total_rows:,} rows" if self.total_rows is not None else f"{self.rows:,} rows")
        if self.rate:
            parts.append(f"{self.rate:,.0f} rows/s")
        if self.ended is None:
            if self.eta is not None:
                parts.append(f"ETA {_fmt_seconds(self.eta)}")
        elif self.failed:
            parts.append(f"stopped after {_fmt_seconds(self.elapsed)}")
        else:
            parts.append(f"done in {_fmt_seconds(self.elapsed)}")
        return f"{self.name}: " + ", ".join(parts)

    def finish(self) -> None:
        if self.ended is not None:
            return
        self.ended = time.perf_counter()
        if self._task is not None:
            total = self.total_rows if self.total_rows is not None else self.rows
            self.display._progress.update(self._task, total=max(total, self.rows), completed=self.rows)
            self.display._progress.stop_task(self._task)
        elif self.display.mode == "plain":
            self.display.line(self.status())


class Display:
    """The run's display. Use as a context manager; phases via :meth:`phase`."""

    def __init__(self, title: str | None = None, stream: TextIO | None = None, mode: str | None = None):
        self.stream = stream or sys.stderr
        self.mode = mode or _mode(self.stream)
        self.title = title
        self._progress = None
        self.phases: list[Phase] = []

    def __enter__(self) -> "Display":
        global _CURRENT
        if self.mode == "rich":
            self._progress = Progress(
                TextColumn("[bold]{task.description:<12}"),
                BarColumn(bar_width=32),
                _RowsColumn(),
                TextColumn("{task.fields[dates]}/{task.fields[total_dates]} dates"),
                _RateColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._progress.start()
        elif self.mode == "plain" and self.title:
            self.line(self.title)
        self._previous = _CURRENT
        _CURRENT = self
        return self

    def __exit__(self, *exc) -> None:
        global _CURRENT
        for p in self.phases:
            if p.ended is None:
                p.finish()
        if self._progress is not None:
            self._progress.stop()
        _CURRENT = self._previous

    def line(self, text: str) -> None:
        if self.mode == "off":
            return
        if self._progress is not None:
            self._progress.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    @contextlib.contextmanager
    def phase(self, name: str, total_rows: int | None = None, total_dates: int | None = None) -> Iterator[Phase]:
        p = Phase(self, name, total_rows, total_dates)
        self.phases.append(p)
        try:
            yield p
        except BaseException:
            p.failed = True
            raise
        finally:
            p.finish()


def current() -> Display | None:
    """The display a caller higher up opened, if any."""
    return _CURRENT


@contextlib.contextmanager
def phase(name: str, total_rows: int | None = None, total_dates: int | None = None) -> Iterator[Phase]:
    """A phase on the current display, or on a display of its own when none is open."""
    if _CURRENT is not None:
        with _CURRENT.phase(name, total_rows, total_dates) as p:
            yield p
    else:
        with Display() as d, d.phase(name, total_rows, total_dates) as p:
            yield p


class _RowsColumn(ProgressColumn):
    """'31,204/46,710 rows' (or '31,204 rows' while the total is unknown)."""

    def render(self, task) -> Text:
        done = f"{task.completed:>9,.0f}"
        return Text(f"{done}/{task.total:,.0f} rows" if task.total is not None else f"{done} rows")


class _RateColumn(ProgressColumn):
    """Rows per second over the whole phase (rich's own speed column is for bytes)."""

    def render(self, task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        if not elapsed or not task.completed:
            return Text("      - rows/s")
        return Text(f"{task.completed / elapsed:>9,.0f} rows/s")
