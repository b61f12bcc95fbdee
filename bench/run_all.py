"""Run every benchmark in turn (`make bench`): training retrieval, online slate reads,
backfill/materialization, the real-season model evaluation, and one against ten seasons.

Each benchmark compares its contenders side by side in one run and prints its own
table; this only runs them one after the other, each in its own process so one's
memory and caches do not colour the next.
"""
from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "bench.bench_training_retrieval",
    "bench.bench_online",
    "bench.bench_backfill",
    "bench.real_data_model",
    "bench.bench_scale",
)


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        print(f"\n=== python -m {module}", flush=True)
        if subprocess.call([sys.executable, "-m", module]) != 0:
            failed.append(module)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
