"""Benchmark: ``feast materialize`` with our engine vs Feast's stock engine, and the full ``nbafs backfill``.

    python -m bench.bench_backfill                  real 2025-26 season if ../shared/data exists, else generated
    python -m bench.bench_backfill --data sample    a generated 30-team season
    python -m bench.bench_backfill --repeat 3       best of 3 for each materialization

Side by side, in one run, on the same warehouse (import + transform of the real season,
or generate + transform), each in a fresh data directory and a fresh process:

1. stock Feast   ``FeatureStore.materialize(2025-11-13, 2026-01-31)`` with Feast's own
                 ``duckdb`` offline store, ``local`` batch engine and ``sqlite`` online
                 store (the FileSource paths resolved against the data directory, as
                 Feast does against the working directory);
2. stock engine  Feast's ``local`` engine and ``sqlite`` online store on our offline
                 store: isolates what the engine and online store are worth;
3. ours          ``feature_store.yaml``: ``materialize.engine.NbaBatchEngine``, our offline
                 and online stores (default chunks);
4. ours, one game date per chunk (``NBAFS_CHUNK_ROWS=1``: the finest checkpoints);
5. stock Feast, one ``materialize`` call per game date: the only way to get per-date
   progress and restart points out of stock Feast (the old pipeline's way), to set
   against 4;
6. ``nbafs backfill --start 2025-11-13 --end 2026-01-30``: preflight, transform,
   materialize, verify and report, timed as the whole command (process start included).

Rows per second = source rows with an event time in the window (the same count for
every engine, from DuckDB over the four sources) / seconds of the materialize call,
timed inside the child process (Python and Feast import time excluded, the same for
both; the command's wall time is shown beside it). Goals (issue 4): ours >= 10x the
stock engine's rows/s; the full backfill under 20 s on 2 cores (the old pipeline took
about 2 hours for these dates).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import season
from nbafs import paths

UTC = dt.timezone.utc
WINDOW = (dt.datetime(2025, 11, 13, tzinfo=UTC), dt.datetime(2026, 1, 31, tzinfo=UTC))
BACKFILL = (dt.date(2025, 11, 13), dt.date(2026, 1, 30))
OLD_PIPELINE_S = 2 * 3600
GOAL_SPEEDUP, GOAL_BACKFILL_S = 10.0, 20.0
BIN = Path(sys.executable).parent


# --- set-up ---------------------------------------------------------------------------------


def build_warehouse(kind: str, base: Path) -> str:
    """Import (or generate) and transform the season into ``base``; returns a label."""
    os.environ[paths.DATA_DIR_ENV] = str(base)
    return season.build_warehouse(kind)


def fresh_store(base: Path, dest: Path, kind: str) -> Path:
    """A copy of the warehouse with its own registry and online store, applied."""
    shutil.copytree(base / "warehouse", dest / "warehouse")
    if kind != "ours":
        (dest / "feature_store.stock.yaml").write_text(_stock_yaml(dest, kind))
    child(dest, "apply", kind)
    return dest


def _stock_yaml(dest: Path, kind: str) -> str:
    """stock: everything Feast's own; stock-engine: Feast's engine and online store, our offline store."""
    offline = "duckdb" if kind == "stock" else "feast_plugins.offline_store.NbaDuckDBOfflineStore"
    return (
        "project: nba_feature_store\n"
        "provider: local\n"
        f"registry: {dest / 'registry.db'}\n"
        "offline_store:\n"
        f"  type: {offline}\n"
        "online_store:\n"
        "  type: sqlite\n"
        f"  path: {dest / 'online_stock.db'}\n"
        "batch_engine:\n"
        "  type: local\n"
        "entity_key_serialization_version: 3\n"
    )


def window_rows(base: Path) -> int:
    """Source rows with an event time in the window, over the four feature-view sources."""
    import duckdb

    con = duckdb.connect()
    total = 0
    for table in ("nba_analytics/player_game_summary", "nba_analytics/upcoming_player_game_context",
                  "nba_precompute/player_composite_factors", "nba_analytics/player_points_line_consensus"):
        total += con.execute(
            f"SELECT count(*) FROM read_parquet('{base}/warehouse/{table}/*.parquet') "
            "WHERE event_timestamp BETWEEN ? AND ?", list(WINDOW),
        ).fetchone()[0]
    return total


# --- child processes (a fresh process per measurement) ---------------------------------------


def child(data_dir: Path, action: str, kind: str, **env: str) -> dict:
    e = {**os.environ, paths.DATA_DIR_ENV: str(data_dir), "NBAFS_PROGRESS": "off", **env}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.bench_backfill", "--child", action, kind, str(data_dir)],
                          cwd=paths.REPO_ROOT, env=e, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench child {action} {kind} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def _child_main(action: str, kind: str, data_dir: str) -> None:
    import contextlib
    import io

    from feast import FeatureStore

    yaml_file = Path(data_dir) / "feature_store.stock.yaml" if kind != "ours" else paths.REPO_ROOT / "feature_store.yaml"
    store = FeatureStore(repo_path=str(paths.REPO_ROOT), fs_yaml_file=yaml_file)
    result: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        if action == "apply":
            from feast.repo_operations import apply_total

            apply_total(store.config, paths.REPO_ROOT, skip_source_validation=True)
        else:
            os.chdir(data_dir)  # Feast's own duckdb store resolves the relative FileSource paths here
            t0 = time.perf_counter()
            if action == "materialize-daily":
                day = WINDOW[0]
                while day < WINDOW[1]:  # [day, next day) each, the last one including the window end
                    nxt = min(day + dt.timedelta(days=1), WINDOW[1])
                    store.materialize(day, nxt if nxt == WINDOW[1] else nxt - dt.timedelta(microseconds=1))
                    day = nxt
            else:
                store.materialize(*WINDOW)
            result["seconds"] = time.perf_counter() - t0
            run = getattr(store._get_provider().batch_engine, "last_run", None)
            if run is not None:
                result.update(rows_read=run.rows_read, rows_written=run.rows_written, chunks=run.chunks)
    print(json.dumps(result))


# --- the run --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("auto", "real", "sample"), default="auto")
    parser.add_argument("--repeat", type=int, default=1, help="materializations per engine; the best is shown")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child_main(*args.child)
        return 0

    kind = args.data if args.data != "auto" else season.default_kind()
    tmp = Path(tempfile.mkdtemp(prefix="nbafs-bench-backfill-"))
    try:
        t0 = time.perf_counter()
        label = build_warehouse(kind, tmp / "base")
        print(f"data: {label}; warehouse built in {time.perf_counter() - t0:.1f}s; {os.cpu_count()} cores", flush=True)
        rows = window_rows(tmp / "base")
        print(f"window {WINDOW[0]:%Y-%m-%d} .. {WINDOW[1]:%Y-%m-%d}: {rows:,} source rows in the four feature views",
              flush=True)

        results: dict[str, dict] = {}
        cases = [("stock", "stock", {}), ("stock engine", "stock-engine", {}), ("ours", "ours", {}),
                 ("ours, 1 date/chunk", "ours", {"NBAFS_CHUNK_ROWS": "1"}), ("stock, 1 call/date", "stock", {})]
        for i in range(args.repeat):
            for name, engine_kind, env in cases:  # interleaved: background load hits every case alike
                d = fresh_store(tmp / "base", tmp / f"{name.replace(' ', '_').replace(',', '').replace('/', '')}-{i}", engine_kind)
                r = child(d, "materialize-daily" if "call/date" in name else "materialize", engine_kind, **env)
                if name not in results or r["seconds"] < results[name]["seconds"]:
                    results[name] = r
                print(f"  {name:<20} {r['seconds']:6.2f}s in the call, {r['wall']:6.2f}s with process start", flush=True)
        for name, r in results.items():
            if "rows_read" in r and r["rows_read"] != rows:
                raise SystemExit(f"{name}: read {r['rows_read']:,} rows, expected {rows:,}")

        d = tmp / "backfill"
        shutil.copytree(tmp / "base" / "warehouse", d / "warehouse")
        child(d, "apply", "ours")
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(BIN / "nbafs"), "backfill", "--start", str(BACKFILL[0]), "--end", str(BACKFILL[1])],
            cwd=paths.REPO_ROOT, env={**os.environ, paths.DATA_DIR_ENV: str(d), "NBAFS_PROGRESS": "off"},
            capture_output=True, text=True,
        )
        backfill_wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"nbafs backfill failed:\n{proc.stderr[-3000:]}")
        report = json.loads((d / "reports" / f"backfill_{BACKFILL[0]}_{BACKFILL[1]}.json").read_text())

        print_table(rows, results, backfill_wall, report)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


# Two comparisons, each against stock Feast at the same granularity:
SECTIONS = (
    ("whole window in one pass", "stock", ("stock", "stock engine", "ours")),
    ("one game date at a time", "stock, 1 call/date",
     ("stock, 1 call/date", "ours, 1 date/chunk")),
)
NAMES = {
    "stock": "stock Feast: duckdb + local engine + sqlite",
    "stock engine": "our offline store + local engine + sqlite",
    "ours": "ours: NbaDuckDB + NbaBatchEngine + NbaSqlite",
    "stock, 1 call/date": "stock Feast, one materialize call per date",
    "ours, 1 date/chunk": "ours, one game date per chunk",
}


def speedups(rows: int, results: dict[str, dict]) -> dict[str, float]:
    """Per comparison (SECTIONS): ours' rows/s over stock Feast's at the same granularity."""
    return {title: results[stock]["seconds"] / results[cases[-1]]["seconds"] for title, stock, cases in SECTIONS}


def print_table(rows: int, results: dict[str, dict], backfill_wall: float, report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="feast materialize 2025-11-13 2026-01-31, fresh store and process each", header_style="bold")
    for c in ("engine + online store", "call s", "wall s", "rows", "rows/s", "vs stock, same granularity",
              "online rows", "chunks"):
        t.add_column(c, justify="left" if c.startswith("engine") else "right")
    for title, stock_case, cases in SECTIONS:
        t.add_row(f"[bold]{title}[/bold]", *[""] * 7)
        stock = rows / results[stock_case]["seconds"]
        for name in cases:
            r = results[name]
            rate = rows / r["seconds"]
            t.add_row(f"  {NAMES[name]}", f"{r['seconds']:.2f}", f"{r['wall']:.2f}", f"{rows:,}", f"{rate:,.0f}",
                      f"{rate / stock:.1f}x", f"{r['rows_written']:,}" if "rows_written" in r else "",
                      str(r.get("chunks", "")))
        if title != SECTIONS[-1][0]:
            t.add_section()
    console = Console(width=150)
    console.print(t)

    b = Table(title=f"nbafs backfill --start {BACKFILL[0]} --end {BACKFILL[1]}", header_style="bold")
    for c in ("phase", "seconds", "rows", "detail"):
        b.add_column(c, justify="left" if c in ("phase", "detail") else "right")
    for p in report["phases"]:
        b.add_row(p["name"], f"{p['seconds']:.2f}", f"{p['rows']:,}" if p.get("rows") else "", p.get("detail", ""))
    b.add_row("whole command (wall, process start included)", f"{backfill_wall:.2f}", "", report["status"])
    console.print(b)
    console.print(f"goal: materialization >= {GOAL_SPEEDUP:.0f}x stock Feast's rows/s")
    for title, x in speedups(rows, results).items():
        console.print(f"  {title}: {x:.1f}x ({'met' if x >= GOAL_SPEEDUP else 'NOT met'})", highlight=False)
    console.print(
        f"goal: full backfill < {GOAL_BACKFILL_S:.0f}s: {backfill_wall:.1f}s "
        f"({'met' if backfill_wall < GOAL_BACKFILL_S else 'NOT met'}); "
        f"the old pipeline took about {OLD_PIPELINE_S / 3600:.0f} h ({OLD_PIPELINE_S / backfill_wall:,.0f}x longer)",
        highlight=False,
    )


if __name__ == "__main__":
    sys.exit(main())
