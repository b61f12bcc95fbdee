"""Every market's model on the real 2025-26 season, against the averages and against the books.

    .venv/bin/python -m bench.real_data_model [--data ../shared/data/nba_2025_26]
        [--props ../shared/data/nba_2025_26_props/oddsapi_player_props_all_markets.csv.gz] [--json]

Imports the real season with the all-markets Odds API file instead of the points file
(the two hold the same points rows), transforms it and applies the feature repo, then
trains every market (``model.train.train_markets``) on two splits, each also without the
availability features (``--without availability``: same split, same rows):

1. Season split: train on games up to 2026-01-30, evaluate 2026-01-31..2026-04-12: MAE
   against the season, last-5 and last-10 averages, and the availability effect on the
   most rows. The lines end on 2025-12-06: no bets here.
2. Lines era: the lines exist for 2025-10-21..2025-12-06 only, so the bettor's
   evaluation trains to 2025-11-20 and evaluates 2025-11-21..2025-12-06: hit rate beside
   the break-even of the prices offered, flat-stake ROI at the consensus and the best
   price with date-bootstrap intervals, Brier of P(over) beside the books' no-vig
   probability, the reliability chart.

Prints each split's tables and the Markdown table of the README; writes everything to
``<data dir>/reports/real_data_model.json``. Exits 1 unless every market's model beats
the season and last-5 averages on MAE on the season split.

Runs in its own data directory (NBAFS_DATA_DIR, default data/bench-real-model), which it
rebuilds from the real files.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

from nbafs import paths

REAL = paths.REPO_ROOT.parent / "shared" / "data" / "nba_2025_26"
PROPS = paths.REPO_ROOT.parent / "shared" / "data" / "nba_2025_26_props" / "oddsapi_player_props_all_markets.csv.gz"
POINTS_FILE = "oddsapi_player_points_props.csv.gz"  # replaced by the all-markets file
SPLITS = (
    ("season", dt.date(2025, 10, 21), dt.date(2026, 4, 12), dt.date(2026, 1, 31)),
    ("lines_era", dt.date(2025, 10, 21), dt.date(2025, 12, 6), dt.date(2025, 11, 21)),
)


def files(data: Path, props: Path) -> list[Path]:
    """The season's importable files, with the all-markets props file in place of the points file
    (files of no import format, such as the Basketball-Reference table, are left out as a folder
    import would skip them)."""
    from warehouse.importers import detect

    chosen = []
    for p in sorted(data.iterdir()):
        if not p.is_file() or p.name == POINTS_FILE or not p.name.endswith(detect.SUFFIXES):
            continue
        try:
            detect.module_for(p)
        except detect.UnknownFormatError:
            continue
        chosen.append(p)
    return chosen + [props]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REAL, help="the real season's folder (default %(default)s)")
    parser.add_argument("--props", type=Path, default=PROPS, help="the all-markets Odds API file (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON (tables go to stderr)")
    args = parser.parse_args()
    os.environ.setdefault(paths.DATA_DIR_ENV, str(paths.REPO_ROOT / "data" / "bench-real-model"))
    d = paths.data_dir()
    for name in ("warehouse", "registry.db", "online_store.db", "checkpoints", "models"):
        p = d / name
        if p.exists():
            shutil.rmtree(p) if p.is_dir() else p.unlink()

    from rich.console import Console

    from model.betting import markdown_table
    from model.train import market_rows, print_markets, train_markets
    from nbafs.demo import feast_apply
    from transformations.runner import run as transform
    from warehouse.importers import import_paths

    timings, runs = {}, {}
    # With --json, stdout carries the JSON only: everything else goes to stderr.
    with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
        console = Console(width=160)
        t = time.perf_counter(); import_paths(files(args.data, args.props)); timings["import_s"] = time.perf_counter() - t
        t = time.perf_counter(); transform(progress=None); timings["transform_s"] = time.perf_counter() - t
        t = time.perf_counter(); feast_apply(); timings["apply_s"] = time.perf_counter() - t
        for name, start, end, eval_start in SPLITS:  # the lines era last: its reliability chart is the one kept
            console.rule(f"{name}: trained {start}..{eval_start - dt.timedelta(days=1)}, evaluated {eval_start}..{end}")
            t = time.perf_counter()
            run = runs[name] = train_markets(start, end, eval_start, without=("availability",))
            timings[f"train_{name}_s"] = time.perf_counter() - t
            print_markets(run, console)
            print(f"\nMarkdown ({name}):\n\n" + markdown_table(market_rows(run)))
    season = runs["season"]
    beats = {
        m: all(r.metrics["eval"]["baselines"][b]["model_mae_same_rows"] < r.metrics["eval"]["baselines"][b]["mae"]
               for b in ("season_avg", "last_5"))
        for m, r in season.results.items()
    }
    out = {"timings": timings, "model_beats_averages_season_split": beats,
           "splits": {name: run.to_json() for name, run in runs.items()}}
    report = paths.reports_dir() / "real_data_model.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(out, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
        print("model beats the season and last-5 averages on MAE (season split): "
              + ", ".join(f"{m} {'yes' if ok else 'NO'}" for m, ok in beats.items()))
        print(f"written: {report}")
    return 0 if all(beats.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
