"""The player-points model on the real 2025-26 season: the issue's two splits.

    .venv/bin/python -m bench.real_data_model [--data ../shared/data/nba_2025_26] [--keep]

1. Season split: train on games up to 2026-01-30, evaluate on 2026-01-31..2026-04-12.
2. Lines-era split: betting lines exist only up to 2025-12-06, so over/under accuracy
   is measured inside 2025-10-21..2025-12-06: train to 2025-11-20, evaluate
   2025-11-21..2025-12-06.

Each split trains the same fixed pipeline as ``nbafs train`` (no tuning on evaluation
dates) on a point-in-time training set from the feature service, and prints the MAE of
the model and of each baseline (season average, last-5 average, the line), each on the
rows where the baseline exists with the model beside it on the same rows, and the
over/under accuracy on rows with a line.

Runs in its own data directory (NBAFS_DATA_DIR, default data/bench-real-model), which it
rebuilds from the real files: import, transform, ``feast apply``.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path

from nbafs import paths

REAL = paths.REPO_ROOT.parent / "shared" / "data" / "nba_2025_26"
SPLITS = (
    ("season", dt.date(2025, 10, 21), dt.date(2026, 4, 12), dt.date(2026, 1, 31)),
    ("lines_era", dt.date(2025, 10, 21), dt.date(2025, 12, 6), dt.date(2025, 11, 21)),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REAL)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault(paths.DATA_DIR_ENV, str(paths.REPO_ROOT / "data" / "bench-real-model"))
    d = paths.data_dir()
    for name in ("warehouse", "registry.db", "online_store.db", "checkpoints"):
        p = d / name
        if p.exists():
            shutil.rmtree(p) if p.is_dir() else p.unlink()

    from model.train import print_metrics, train
    from nbafs.demo import feast_apply
    from transformations.runner import run as transform
    from warehouse.importers import import_paths

    timings, results = {}, {}
    # With --json, stdout carries the JSON only: everything else goes to stderr.
    with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
        t = time.perf_counter(); import_paths([args.data]); timings["import_s"] = time.perf_counter() - t
        t = time.perf_counter(); transform(progress=None); timings["transform_s"] = time.perf_counter() - t
        t = time.perf_counter(); feast_apply(); timings["apply_s"] = time.perf_counter() - t
        for name, start, end, eval_start in SPLITS:
            t = time.perf_counter()
            r = train(start, end, eval_start, name=f"real_{name}")
            timings[f"train_{name}_s"] = time.perf_counter() - t
            results[name] = r.metrics
            if not args.json:
                print_metrics(r.metrics, r.directory)
    season = results["season"]["eval"]["baselines"]
    beats = all(season[b]["model_mae_same_rows"] < season[b]["mae"] for b in ("season_avg", "last_5"))
    if args.json:
        print(json.dumps({"timings": timings, "model_beats_averages_season_split": beats, "results": results},
                         indent=2, default=str))
    else:
        print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
        print("model beats season-average and last-5 baselines on MAE (season split):", beats)
    return 0 if beats else 1


if __name__ == "__main__":
    raise SystemExit(main())
