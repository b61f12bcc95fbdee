"""Backfill a range of game dates: preflight, transform, materialize, verify, report. Resumable.

    nbafs backfill --start 2025-11-13 --end 2026-01-30
    nbafs backfill --start 2025-11-13 --end 2026-01-30 --no-wait     refuse if another run holds the store

One command, one progress display, in this order:

1. preflight    every column the transformations and feature views read exists in the
                warehouse partitions with a usable type (< 1 s; nothing runs otherwise)
2. transform    the phase transformations for the game dates (transformations.runner);
                locally skipped, saying so, when the warehouse is what the last transform
                covering the range left and no SQL or code changed since
                (transformations/freshness.py; --retransform runs it anyway)
3. setup        open the feature store; ``feast apply`` of feature_repo/ only if it differs from
                the registry (what ``feast plan`` reports: materialize/registry_sync.py)
4. materialize  ``FeatureStore.materialize`` over the range's event times, i.e. the same
                batch engine as ``feast materialize`` (materialize/engine.py): chunks in
                time order, quality gates before each chunk is written, monotonic writes,
                a checkpoint after each chunk
5. verify       the per-date checks of ``nbafs verify`` for the range
6. report       a table here, and JSON + HTML (per-date charts of coverage and
                usage_spike_score) under NBAFS_DATA_DIR/reports/ (docs/backfill.md shows
                all of it from the user's side)

Event-time window: game dates START..END become the events from 00:00 UTC on START to
06:00 UTC the day after END, when END's box scores are known (nbafs/timeline.py).

Resume: if a run is killed (Ctrl-C, kill -9, a failing gate), run the same command
again. The transformations are idempotent and rerun (unless the killed run got past them:
then the warehouse is what they wrote, and they are skipped); materialization picks up after the
last chunk it wrote (its checkpoints: materialize/state.py) and ends with the same online
store as an uninterrupted run. A completed backfill run again is rewritten, with the
same result.

Two backfills on the same data directory never interleave: the second waits for the
first (saying so), or with --no-wait refuses at once. A failing quality gate stops the
run before anything of that chunk is written, naming the feature, the date, the
figure, the threshold and the upstream columns it depends on; exit status 1.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import sys
import time

from materialize import DEFAULT_MAX_ROWS_PER_CHUNK, preflight, progress, registry_sync, state
from materialize import report as report_mod
from materialize.report import BackfillReport, PhaseReport
from nbafs import paths, timeline
from nbafs.errors import UserError
from nbafs.timeline import argparse_date

UTC = dt.timezone.utc


def event_window(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Event times of game dates start..end: 00:00 UTC on start to when end's box scores are known."""
    return dt.datetime.combine(start, dt.time(), UTC), timeline.box_score_known_at(end)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=argparse_date, required=True, help="first game date (YYYY-MM-DD)")
    parser.add_argument("--end", type=argparse_date, required=True, help="last game date (YYYY-MM-DD), inclusive")
    parser.add_argument("--no-wait", action="store_true",
                        help="refuse at once when another backfill or materialization holds the store "
                             "(default: wait for it, saying who holds it)")
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help=f"rows per materialization chunk (default: the engine's, {DEFAULT_MAX_ROWS_PER_CHUNK:,}; 1 = one game "
                             "date per chunk, the finest resume granularity)")
    parser.add_argument("--skip-transform", action="store_true",
                        help="materialize and verify what the warehouse holds, without running the transformations")
    parser.add_argument("--retransform", action="store_true",
                        help="run the transformations even when the local warehouse is as the last transform covering "
                             "the range left it (by default that transform is skipped and the run says so)")


def run(args: argparse.Namespace) -> int:
    if args.chunk_rows is not None:
        if args.chunk_rows < 1:
            raise UserError(f"--chunk-rows must be at least 1, got {args.chunk_rows}")
        os.environ["NBAFS_CHUNK_ROWS"] = str(args.chunk_rows)
    if args.skip_transform and args.retransform:
        raise UserError("--skip-transform and --retransform contradict each other: give one of them")
    rep = backfill(args.start, args.end, wait=not args.no_wait, transform=not args.skip_transform,
                   retransform=args.retransform, print_report=True)
    return 0 if rep.status == "ok" else 1


def backfill(
    start: dt.date,
    end: dt.date,
    *,
    wait: bool = True,
    transform: bool = True,
    retransform: bool = False,
    print_report: bool = False,
) -> BackfillReport:
    """Run the backfill of game dates start..end; returns its report (also written to disk).

    Raises UserError subclasses for what stops the run (preflight, a quality gate, the
    store being busy with ``wait=False``); the report is written before re-raising.
    A run whose verify finds problems returns with ``status == "verify-failed"``.
    """
    if start > end:
        raise UserError(f"--start {start} is after --end {end}: expected start <= end")
    rep = BackfillReport(
        start=start.isoformat(), end=end.isoformat(), data_dir=str(paths.data_dir()),
        started_at=dt.datetime.now(UTC).isoformat(timespec="seconds"),
    )
    lo, hi = event_window(start, end)
    rep.window = (lo.isoformat(), hi.isoformat())
    outer = progress.current()
    display = outer or progress.Display(title=f"nbafs backfill {start} .. {end} ({paths.data_dir()})")
    with (_Borrowed(outer) if outer else display):
        # A run refused by the lock (StoreBusyError) leaves no report: it did nothing, and
        # the report files belong to the run holding the lock.
        with state.open().lock(f"nbafs backfill {start}..{end}", wait=wait, say=display.line):
            try:
                _preflight(display, rep)
                if transform:
                    _transform(display, rep, start, end, retransform=retransform)
                _materialize(display, rep, lo, hi)
                _verify(display, rep, start, end)
            except UserError as exc:
                rep.status, rep.message = "failed", str(exc)
                _finish(rep, print_report=False)
                if rep.paths:
                    display.line(f"nbafs backfill: report of the failed run: {rep.paths['html']}")
                raise
            rep.status = "verify-failed" if any(r.get("problems") for r in rep.verify) else "ok"
            _finish(rep, print_report=False)
    if print_report:
        sys.stdout.write(report_mod.render_text(rep))
    return rep


class _Borrowed:
    """Use a display someone else opened (e.g. nbafs demo) without closing it."""

    def __init__(self, display):
        self.display = display

    def __enter__(self):
        return self.display

    def __exit__(self, *exc):
        return False


def _timed(display, rep: BackfillReport, name: str):
    class _Ctx:
        def __enter__(self_inner):
            self_inner.t0 = time.perf_counter()
            self_inner.phase = PhaseReport(name, 0.0)
            return self_inner.phase

        def __exit__(self_inner, *exc):
            self_inner.phase.seconds = time.perf_counter() - self_inner.t0
            rep.phases.append(self_inner.phase)
            return False

    return _Ctx()


def _preflight(display, rep: BackfillReport) -> None:
    with _timed(display, rep, "preflight") as ph:
        result = preflight.run()
        ph.detail = (f"{result.reads_checked} column reads over {len(result.tables_checked)} tables, "
                     f"{result.checked}")
        if result.skipped:
            ph.detail += f"; {len(result.skipped)} tables not written yet"
        rep.preflight = {"tables": result.tables_checked, "files": result.files_checked,
                         "reads": result.reads_checked, "skipped": result.skipped, "seconds": result.seconds}
    display.line(f"preflight: ok, {ph.detail} ({ph.seconds:.2f}s)")


def _transform(display, rep: BackfillReport, start: dt.date, end: dt.date, *, retransform: bool = False) -> None:
    from transformations import freshness, runner
    from warehouse import engine

    days = (end - start).days + 1
    with _timed(display, rep, "transform") as ph:
        fresh = None if retransform or engine.current().name != "duckdb" else freshness.up_to_date(start, end)
        if fresh is not None:
            ph.detail = f"skipped, {fresh.describe()} (--retransform runs it)"
            rep.transform = {}
        else:
            with display.phase("transform", total_dates=days) as bar:
                result = runner.run(start, end, progress=lambda line: display.line("  " + line.strip()))
                rep.transform = {t.table: t.rows for t in result.tables}
                ph.rows = sum(rep.transform.values())
                ph.detail = f"{len(result.tables)} tables, game dates {result.start}..{result.end}"
                bar.set_totals(rows=ph.rows)
                bar.advance(rows=ph.rows, dates=days)
    if fresh is not None:
        display.line(f"transform: {ph.detail} ({ph.seconds:.2f}s)")


def _materialize(display, rep: BackfillReport, lo: dt.datetime, hi: dt.datetime) -> None:
    from nbafs.profile import feature_store

    with _timed(display, rep, "setup") as ph:
        quiet = io.StringIO()  # Feast's own prints; the display says the same
        with contextlib.redirect_stdout(quiet):
            store = feature_store()
            result = registry_sync.sync(store)
        rep.setup = result.as_dict()
        ph.detail = f"feature store {store.project}: {result.summary}"
    display.line(f"setup: {ph.detail} ({ph.seconds:.2f}s)")
    with _timed(display, rep, "materialize") as ph:
        engine = store._get_provider().batch_engine
        try:
            with contextlib.redirect_stdout(quiet):
                store.materialize(start_date=lo, end_date=hi)
        finally:
            summary = getattr(engine, "last_run", None)
            checkpoints = state.open(store.project).checkpoints
            for view in (summary.views if summary else {}):
                cp = checkpoints.load_with_dates(view)
                if cp is None:
                    continue
                rep.views[view] = {"rows_read": cp.rows_read, "rows_written": cp.rows_written,
                                   "chunks_done": cp.chunks_done, "resumed_from": cp.resumed_from,
                                   "completed": cp.completed}
                for day, feats in cp.dates.items():
                    rep.gates.setdefault(day, {}).update(feats)
            if summary:
                ph.rows = summary.rows_read
                ph.detail = (f"{len(summary.views)} views, {summary.chunks} chunks, "
                             f"{summary.rows_written:,} online rows written")
                if summary.resumed:
                    ph.detail += "; resumed " + ", ".join(f"{v} after {t[:10]}" for v, t in summary.resumed.items())


def _verify(display, rep: BackfillReport, start: dt.date, end: dt.date) -> None:
    from materialize.verify import verify

    with _timed(display, rep, "verify") as ph:
        rep.verify = verify(start, end)
        failed = [r for r in rep.verify if r.get("problems")]
        ph.detail = f"{len(rep.verify) - len(failed)}/{len(rep.verify)} game dates pass"
    display.line(f"verify: {ph.detail} ({ph.seconds:.2f}s)")


def _finish(rep: BackfillReport, print_report: bool) -> None:
    try:
        report_mod.write(rep)
    except OSError as exc:  # a report that cannot be written must not hide the run's outcome
        print(f"nbafs backfill: could not write the report: {exc}", file=sys.stderr)
    if print_report:
        sys.stdout.write(report_mod.render_text(rep))
