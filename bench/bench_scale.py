"""Benchmark: one, three and ten generated seasons side by side: seconds and peak RSS per step.

    python -m bench.bench_scale                       1, 3 and 10 seasons (30 teams x 82 games, seed 0)
    python -m bench.bench_scale --seasons 1 3         a quicker run
    python -m bench.bench_scale --fresh               regenerate the raw data instead of reusing it
    python -m bench.bench_scale --tiny                harness check: 1 and 2 seasons of a 4-team league
    python -m bench.bench_scale --from-json data/reports/bench_scale.json   the table of an earlier run

For N seasons (the last N ending with --last-season: 10 = 2016-17 .. 2025-26) the data
directory ``<work-dir>/seasons-N_<teams>x<games>_seed<seed>`` holds the raw tables of
``nbafs generate --season S`` for each season, with the same seed (the same players,
season after season). Generated raw data is reused when the directory says it was
generated with the same parameters (the run says so; --fresh regenerates it), and its
generation time is shown apart: generating is not a step.

Every run starts from the raw tables alone (derived tables, registry, online store,
checkpoints and reports removed), then runs each step the way a user does, in a process
of its own, one at a time:

1. transform          ``nbafs transform`` over all dates, derived tables absent (first run)
2. transform rerun    the same command again, over the tables it wrote (idempotent rerun)
3. backfill           ``nbafs backfill --start FIRST --end LAST`` on a fresh store (no registry,
                      no online store, no checkpoint): its phases from the report JSON it writes.
                      The warehouse is as the rerun left it, so the transform is skipped
                      (transformations/freshness.py)
4. backfill retransform  the same with ``--retransform`` on a fresh store again: the transform run
5. retrieval          every played player-game (minutes > 0) of all seasons through the feature
                      service player_points_v1 (``serving.training_set.build_training_set``),
                      timed inside the process without ``import feast`` (and with: the wall)
6. slate              450 entity rows of the last game date (``bench.bench_online.slate_rows``:
                      the day's players, topped up) read from the online store at noon US/Eastern
                      (``serving.online.slate_vectors``): the first call, and the median of 20 more

Seconds are wall seconds of the step's process (process start and imports included)
unless marked "in process"; CPU seconds (user + system) are shown beside them, as the
machine is shared and wall time moves with other processes' load. Peak RSS is ``ru_maxrss`` of that process from ``os.wait4``:
the largest resident set of the process or of any child it waited for (a peak, not a sum
over concurrent children), never this harness's own memory. Also counted per data
directory: the warehouse's parquet files (``warehouse/**/*.parquet``, whatever the layout
names them) and the rows of the derived tables.

Output: one table (the seasons side by side per step, the growth factor of the most
seasons over the fewest, the issue's goals for ten seasons, met or not), then
``bench_scale.json`` and ``bench_scale.png`` (seconds and RSS against seasons) in --out.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbafs import paths

BIN = Path(sys.executable).parent
RAW_MARKER = "bench_scale_raw.json"  # the generation parameters of a data directory's raw tables
SLATE_CALLS = 20
MB = 1e6
# The goals for ten seasons on this 2-core machine: (step, what, limit, label).
GOALS = (
    ("transform", "seconds", 10.0, "transform < 10 s"),
    ("backfill", "seconds", 20.0, "backfill < 20 s wall, the warehouse as transformed (transform skipped)"),
    ("backfill retransform", "seconds", 20.0, "backfill < 20 s wall, the transform run (--retransform)"),
    ("retrieval", "in_process_s", 5.0, "training retrieval < 5 s (in process)"),
    ("*", "peak_rss_mb", 1000.0, "peak RSS < 1 GB, every step"),
)
STEPS = ("transform", "transform rerun", "backfill", "backfill retransform", "retrieval", "slate")


# --- seasons and data directories -------------------------------------------------------------


def season_labels(n: int, last: str) -> list[str]:
    """The ``n`` seasons ending with ``last`` ("2025-26"), oldest first."""
    end = int(last[:4])
    return [f"{y}-{(y + 1) % 100:02d}" for y in range(end - n + 1, end + 1)]


def raw_params(labels: list[str], args: argparse.Namespace) -> dict:
    return {"seasons": labels, "seed": args.seed, "teams": args.teams, "games_per_team": args.games_per_team}


def child_env(data_dir: Path) -> dict:
    """The environment of every step: this data directory, the local profile, no progress display."""
    from nbafs.profile import PROFILE_ENV

    env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}
    return {**env, paths.DATA_DIR_ENV: str(data_dir), "NBAFS_PROGRESS": "off"}


def git_commit() -> str:
    """The commit of the code measured, "+dirty" when the work tree has uncommitted changes."""
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=paths.REPO_ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def ensure_raw(data_dir: Path, params: dict, fresh: bool, code: str) -> dict:
    """Generate the raw tables unless the directory already holds them with these parameters."""
    marker = data_dir / RAW_MARKER
    if not fresh and marker.exists():
        before = json.loads(marker.read_text())
        if {k: before.get(k) for k in params} == params:
            print(f"  reusing the raw tables in {data_dir} (generated with the same parameters at commit "
                  f"{before.get('commit')} in {before['generate_seconds']:.1f} s; --fresh regenerates)", flush=True)
            return {**before, "reused": True}
        print(f"  {data_dir} was generated with other parameters ({before}); regenerating", flush=True)
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    t0 = time.perf_counter()
    for label in params["seasons"]:
        proc = subprocess.run(
            [str(BIN / "nbafs"), "generate", "--season", label, "--seed", str(params["seed"]),
             "--teams", str(params["teams"]), "--games-per-team", str(params["games_per_team"])],
            cwd=paths.REPO_ROOT, env=child_env(data_dir), capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(f"nbafs generate --season {label} failed in {data_dir}:\n{proc.stderr[-3000:]}")
    seconds = time.perf_counter() - t0
    record = {**params, "generate_seconds": seconds, "commit": code}
    marker.write_text(json.dumps(record, indent=1) + "\n")
    print(f"  generated {len(params['seasons'])} season(s) into {data_dir} in {seconds:.1f} s", flush=True)
    return {**record, "reused": False}


def reset_to_raw(data_dir: Path) -> None:
    """Remove everything but the raw tables and the marker: derived tables, registry, online store, reports."""
    from warehouse.schema import RAW_TABLES

    _clear(data_dir, {data_dir / RAW_MARKER} | {data_dir / "warehouse" / t.dataset / t.name for t in RAW_TABLES})


def reset_store(data_dir: Path) -> None:
    """Remove the registry, the online store, the materialization checkpoints and the reports; keep the
    warehouse and what the last transform recorded (checkpoints/transform.json)."""
    from transformations import freshness

    _clear(data_dir, {data_dir / RAW_MARKER, data_dir / "warehouse", data_dir / "checkpoints" / freshness.RECORD})


def _clear(directory: Path, keep: set[Path]) -> None:
    """Remove everything under ``directory`` but the paths in ``keep`` (and the folders on the way to them)."""
    for entry in list(directory.iterdir()):
        if entry in keep:
            continue
        if entry.is_dir() and any(entry in k.parents for k in keep):
            _clear(entry, keep)
            if not any(entry.iterdir()):
                entry.rmdir()
        elif entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def warehouse_files(data_dir: Path) -> dict:
    """Parquet files and bytes under the warehouse, in total and in the derived tables' folders."""
    from warehouse.schema import DERIVED_TABLES

    files = list((data_dir / "warehouse").glob("**/*.parquet"))
    derived_dirs = {data_dir / "warehouse" / t.dataset / t.name for t in DERIVED_TABLES}
    derived = [f for f in files if any(d in f.parents for d in derived_dirs)]
    return {"files": len(files), "derived_files": len(derived), "bytes": sum(f.stat().st_size for f in files)}


# --- one step in a process of its own ---------------------------------------------------------


def measure(cmd: list[str], data_dir: Path, what: str) -> dict:
    """Run ``cmd`` to its end: wall seconds, CPU seconds and peak RSS (of it and its children)."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=paths.REPO_ROOT, env=child_env(data_dir), stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed in {data_dir} (exit {proc.returncode}):\n{stdout[-2000:]}\n{stderr[-3000:]}")
    return {"seconds": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss * 1024 / MB,
            "load_before": load, "stdout": stdout}


def self_step(step: str, data_dir: Path) -> dict:
    """``python -m bench.bench_scale --step STEP``: measured like a command, its JSON line merged in."""
    r = measure([sys.executable, "-m", "bench.bench_scale", "--step", step], data_dir, f"step {step}")
    return {**r, **json.loads(r.pop("stdout").strip().splitlines()[-1])}


def _step_main(step: str) -> None:
    """Inside a step's process (NBAFS_DATA_DIR set): do it and print one JSON line."""
    out: dict = {}
    if step == "info":
        from warehouse import engine
        from warehouse.schema import DERIVED_TABLES, SCHEDULE

        wh = engine.current()
        dates = wh.partitions(SCHEDULE)
        out = {"first": str(dates[0]), "last": str(dates[-1]), "game_dates": len(dates),
               "derived_rows": {t.fqn: int(wh.query(f"SELECT count(*) AS n FROM {t.fqn}").column("n")[0].as_py())
                                for t in DERIVED_TABLES}}
    elif step == "retrieval":
        t0 = time.perf_counter()
        import feast  # noqa: F401 - timed apart

        t1 = time.perf_counter()
        from nbafs import profile
        from serving import training_set

        t2 = time.perf_counter()
        store = profile.feature_store()
        rows = training_set.entity_rows_for_range()
        t3 = time.perf_counter()
        frame = training_set.build_training_set(rows, store=store, service=training_set.FEATURE_SERVICE)
        t4 = time.perf_counter()
        out = {"import_feast_s": t1 - t0, "imports_s": t2 - t0, "in_process_s": t4 - t2, "entity_rows_s": t3 - t2,
               "build_s": t4 - t3, "rows": len(frame), "columns": frame.shape[1],
               "service": training_set.FEATURE_SERVICE}
    elif step == "slate":
        from bench import bench_online
        from nbafs import profile, timeline
        from serving import online
        from warehouse import engine
        from warehouse.schema import UPCOMING_PLAYER_GAME_CONTEXT

        t0 = time.perf_counter()
        store = profile.feature_store()
        day = engine.current().partitions(UPCOMING_PLAYER_GAME_CONTEXT)[-1]
        players = bench_online.slate_rows(day)
        at = timeline.noon_eastern(day)
        t1 = time.perf_counter()
        frame, report = online.slate_vectors(store, players, at)
        t2 = time.perf_counter()
        warm = []
        for _ in range(SLATE_CALLS):
            w0 = time.perf_counter()
            online.slate_vectors(store, players, at)
            warm.append(time.perf_counter() - w0)
        out = {"day": str(day), "players": len(frame), "on_day": int((players["game_date"] == day).sum()),
               "setup_s": t1 - t0, "in_process_s": t2 - t1, "warm_median_s": statistics.median(warm),
               "staleness": report.summary()}
    else:
        raise SystemExit(f"unknown --step {step!r}; expected info, retrieval or slate")
    print(json.dumps(out))


def run_seasons(n: int, args: argparse.Namespace) -> dict:
    labels = season_labels(n, args.last_season)
    data_dir = args.work_dir / f"seasons-{n}_{args.teams}x{args.games_per_team}_seed{args.seed}"
    print(f"{n} season(s), {labels[0]} .. {labels[-1]}:", flush=True)
    raw = ensure_raw(data_dir, raw_params(labels, args), args.fresh, args.code)
    reset_to_raw(data_dir)
    nbafs = str(BIN / "nbafs")
    steps: dict[str, dict] = {}

    def done(name: str, r: dict, extra: str = "") -> None:
        steps[name] = r
        print(f"  {name:<16} {r['seconds']:7.2f} s  peak RSS {r['peak_rss_mb']:7.0f} MB{extra}", flush=True)

    done("transform", measure([nbafs, "transform"], data_dir, "nbafs transform"))
    info = self_step("info", data_dir)
    files = warehouse_files(data_dir)
    done("transform rerun", measure([nbafs, "transform"], data_dir, "nbafs transform (rerun)"))
    for name, extra in (("backfill", []), ("backfill retransform", ["--retransform"])):
        reset_store(data_dir)  # each on a fresh store: no registry, no online store, no checkpoint
        cmd = [nbafs, "backfill", "--start", info["first"], "--end", info["last"], *extra]
        backfill = measure(cmd, data_dir, " ".join(cmd[1:]))
        reports = sorted((data_dir / "reports").glob("backfill_*.json"), key=lambda p: p.stat().st_mtime)
        if not reports:
            raise SystemExit(f"nbafs backfill wrote no reports/backfill_*.json in {data_dir}")
        report = json.loads(reports[-1].read_text())
        backfill["phases"] = {p["name"]: p["seconds"] for p in report["phases"]}
        backfill["status"] = report["status"]
        backfill["transform_rows"] = sum(report["transform"].values())
        done(name, backfill, "  (" + ", ".join(f"{k} {v:.1f}" for k, v in backfill["phases"].items()) + ")")
    r = self_step("retrieval", data_dir)
    done("retrieval", r, f"  ({r['rows']:,} rows; {r['in_process_s']:.2f} s in process, import feast "
                         f"{r['import_feast_s']:.1f} s)")
    s = self_step("slate", data_dir)
    done("slate", s, f"  ({s['players']} players of {s['day']}; first call {s['in_process_s']:.3f} s)")
    for r in steps.values():
        r.pop("stdout", None)
    return {"seasons": labels, "data_dir": str(data_dir), "raw": raw, "first": info["first"], "last": info["last"],
            "game_dates": info["game_dates"], "derived_rows": info["derived_rows"],
            "warehouse_after_transform": files, "warehouse": warehouse_files(data_dir), "steps": steps}


# --- the table, the goals, the chart ----------------------------------------------------------


def rows_of(result: dict) -> list[tuple[str, str, str, str]]:
    """(label, step, key, unit) of every line of the table, in order."""
    phases = next(iter(result["runs"].values()))["steps"]["backfill"]["phases"]
    lines = [("transform (first run)", "transform", "seconds", "s"), ("transform (rerun)", "transform rerun", "seconds", "s"),
             ("backfill, transform skipped (wall)", "backfill", "seconds", "s")]
    lines += [(f"  backfill: {p}", "backfill", f"phase:{p}", "s") for p in phases]
    lines += [("backfill --retransform (wall)", "backfill retransform", "seconds", "s"),
              ("  backfill --retransform: transform", "backfill retransform", "phase:transform", "s")]
    lines += [("retrieval (in process, no import)", "retrieval", "in_process_s", "s"),
              ("retrieval (wall)", "retrieval", "seconds", "s"),
              ("slate read (first call, in process)", "slate", "in_process_s", "s"),
              (f"slate read (median of {SLATE_CALLS} more)", "slate", "warm_median_s", "s"),
              ("slate (wall)", "slate", "seconds", "s")]
    lines += [(f"CPU s: {s}", s, "cpu_s", "s") for s in STEPS]
    lines += [(f"peak RSS: {s}", s, "peak_rss_mb", "MB") for s in STEPS]
    return lines


def value(run: dict, step: str, key: str) -> float:
    r = run["steps"][step]
    return r["phases"].get(key[6:], float("nan")) if key.startswith("phase:") else r[key]


def goals(result: dict) -> list[dict]:
    n = max(result["runs"], key=int)
    run = result["runs"][n]
    out = []
    for step, key, limit, label in GOALS:
        if step == "*":
            worst = max(STEPS, key=lambda s: run["steps"][s][key])
            got, where = run["steps"][worst][key], worst
        else:
            got, where = run["steps"][step][key], step
        out.append({"goal": label, "seasons": int(n), "measured": got, "limit": limit, "step": where,
                    "met": got < limit})
    return out


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    ns = sorted(result["runs"], key=int)
    lo, hi = ns[0], ns[-1]
    t = Table(title=f"bench_scale: {result['league']}, fresh processes, one step at a time "
                    f"({result['cores']} cores, commit {result['commit']})", header_style="bold")
    t.add_column("step", justify="left")
    for n in ns:
        t.add_column(f"{n} season{'s' if n != '1' else ''}", justify="right")
    t.add_column(f"x {hi} vs {lo}", justify="right")
    for label, step, key, unit in rows_of(result):
        vals = [value(result["runs"][n], step, key) for n in ns]
        fmt = (lambda v: f"{v:,.0f} MB") if unit == "MB" else (lambda v: f"{v:.3f} s" if v < 1 else f"{v:.2f} s")
        growth = vals[-1] / vals[0] if vals[0] else float("nan")
        t.add_row(label, *[fmt(v) for v in vals], f"{growth:.1f}x" if len(ns) > 1 else "")
    t.add_section()
    counts = (("retrieved rows (played player-games)", lambda r: r["steps"]["retrieval"]["rows"]),
              ("slate entity rows", lambda r: r["steps"]["slate"]["players"]),
              ("game dates", lambda r: r["game_dates"]),
              ("derived rows", lambda r: sum(r["derived_rows"].values())),
              ("warehouse parquet files", lambda r: r["warehouse"]["files"]),
              ("  of them derived", lambda r: r["warehouse"]["derived_files"]),
              ("warehouse MB", lambda r: r["warehouse"]["bytes"] / MB))
    for label, get in counts:
        vals = [get(result["runs"][n]) for n in ns]
        t.add_row(label, *[f"{v:,.0f}" for v in vals], f"{vals[-1] / vals[0]:.1f}x" if len(ns) > 1 and vals[0] else "")
    t.add_row("generation (not a step)", *[
        f"{result['runs'][n]['raw']['generate_seconds']:.1f} s" + (" (reused)" if result["runs"][n]["raw"]["reused"] else "")
        for n in ns], "")
    console = Console(width=160)
    console.print(t)
    for g in result["goals"]:
        unit = "MB" if "rss" in g["goal"].lower() else "s"
        console.print(f"goal at {g['seasons']} seasons: {g['goal']}: {g['measured']:.1f} {unit} ({g['step']}) "
                      f"{'met' if g['met'] else 'NOT met'}", highlight=False)
    console.print(f"load average {result['load_before']:.1f} before, {result['load_after']:.1f} after, on "
                  f"{result['cores']} cores (wall seconds grow with other processes' load; CPU seconds much less)",
                  highlight=False)
    if max(map(int, ns)) != 10:
        console.print("(the goals are for ten seasons; they are judged here at the most seasons measured)")


def chart(result: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted(result["runs"], key=int)
    x = [int(n) for n in ns]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    lines = (("transform", "transform", "seconds", "tab:blue"), ("transform rerun", "transform rerun", "seconds", "#9ecae1"),
             ("backfill", "backfill", "seconds", "tab:red"),
             ("backfill --retransform", "backfill retransform", "seconds", "tab:orange"),
             ("retrieval (in process)", "retrieval", "in_process_s", "tab:green"),
             ("slate (first call)", "slate", "in_process_s", "tab:purple"))
    for label, step, key, color in lines:
        left.plot(x, [value(result["runs"][n], step, key) for n in ns], marker="o", color=color, label=label)
    for step, key, limit, label in GOALS:
        color = next((c for _, s, k, c in lines if s == step and k == key), None)
        if color:
            left.axhline(limit, color=color, linestyle="--", linewidth=0.8)
    left.set_yscale("log")
    left.set_title("seconds per step (dashed: the goal at 10 seasons)")
    left.set_ylabel("seconds (log)")
    for step, color in zip(STEPS, ("tab:blue", "#9ecae1", "tab:red", "tab:orange", "tab:green", "tab:purple")):
        right.plot(x, [result["runs"][n]["steps"][step]["peak_rss_mb"] for n in ns], marker="o", color=color, label=step)
    right.axhline(1000, color="black", linestyle="--", linewidth=0.8, label="goal 1 GB")
    right.set_title("peak RSS of the step's process")
    right.set_ylabel("MB")
    right.set_ylim(bottom=0)
    for ax in (left, right):
        ax.set_xticks(x)
        ax.set_xlabel("seasons")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"bench_scale: {result['league']}, commit {result['commit']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seasons", type=int, nargs="+", default=None,
                        help="season counts to measure, each the last N seasons (default: 1 3 10; --tiny: 1 2)")
    parser.add_argument("--last-season", default="2025-26", help="the newest season of every count (default %(default)s)")
    parser.add_argument("--teams", type=int, default=30, help="teams of the generated league (default %(default)s)")
    parser.add_argument("--games-per-team", type=int, default=82, help="(default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="the same for every season (default %(default)s)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/nbafs-bench-scale"),
                        help="where the data directories live, kept between runs (default %(default)s)")
    parser.add_argument("--fresh", action="store_true", help="regenerate the raw tables even when they are there")
    parser.add_argument("--out", type=Path, default=None,
                        help="where bench_scale.json and .png go (default: the data dir's reports/, NBAFS_DATA_DIR)")
    parser.add_argument("--tiny", action="store_true",
                        help="harness check: --teams 4 --games-per-team 8 in a temporary work dir, deleted after")
    parser.add_argument("--code", default=None,
                        help="what code is measured, for the table and JSON (default: the repository's git commit, "
                             "+dirty with uncommitted changes)")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="print the table and redraw the chart of an earlier run's bench_scale.json, measuring nothing")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        _step_main(args.step)
        return 0
    if args.from_json:
        result = json.loads(args.from_json.read_text())
        print_table(result)
        print(f"\nwritten: {chart(result, args.from_json.with_suffix('.png'))}")
        return 0
    if args.seasons is None:
        args.seasons = [1, 2] if args.tiny else [1, 3, 10]
    if any(n < 1 for n in args.seasons):
        parser.error("--seasons: each count must be at least 1")
    tiny_dir = None
    if args.tiny:
        args.teams, args.games_per_team = 4, 8
        tiny_dir = Path(tempfile.mkdtemp(prefix="nbafs-bench-scale-tiny-"))
        args.work_dir = tiny_dir
    args.seasons = sorted(set(args.seasons))
    args.code = args.code or git_commit()
    args.work_dir = args.work_dir.resolve()
    out = (args.out or paths.reports_dir()).resolve()
    load = os.getloadavg()
    print(f"bench_scale: seasons {args.seasons} in {args.work_dir}; {os.cpu_count()} cores, load {load[0]:.1f}",
          flush=True)
    try:
        result = {"league": f"{args.teams} teams x {args.games_per_team} games, seed {args.seed}",
                  "commit": args.code, "cores": os.cpu_count(), "load_before": load[0],
                  "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  "runs": {str(n): run_seasons(n, args) for n in args.seasons}}
    finally:
        if tiny_dir is not None:
            shutil.rmtree(tiny_dir, ignore_errors=True)
    result["load_after"] = os.getloadavg()[0]
    result["goals"] = goals(result)
    print()
    print_table(result)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_scale.json").write_text(json.dumps(result, indent=1) + "\n")
    png = chart(result, out / "bench_scale.png")
    print(f"\nwritten: {out / 'bench_scale.json'}, {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
