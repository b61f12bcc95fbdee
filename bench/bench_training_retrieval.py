"""Benchmark: training retrieval of the whole feature service, ours vs stock Feast.

    python -m bench.bench_training_retrieval            real season if ../shared/data exists, else a generated one
    python -m bench.bench_training_retrieval --data sample --repeat 5

One run, same registry, same parquet warehouse, same entity rows (every played
player-game of the season at noon US/Eastern on its date, with line_offered), same call:
``FeatureStore.get_historical_features(features=<player_points_v1>,
filter_by_created_timestamp=True).to_df()``. Only the offline store differs:

- ours: ``feast_plugins.offline_store.NbaDuckDBOfflineStore`` (feature_store.yaml): one
  DuckDB ASOF JOIN per view;
- stock ``duckdb``: Feast's DuckDB offline store (ibis point-in-time join);
- stock ``file``: Feast's file offline store (dask).

The stock stores get the same registry; they resolve our relative FileSource paths
against the current directory (duckdb) or the repo path (file), so both are pointed at
the data directory. Every store's result is compared with ours value by value (the
stock stores do not keep the entity order, so rows are matched by a row id column).

The warehouse is built in a temporary data directory (import + transform, or generate +
transform) and deleted afterwards unless --keep.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from bench import season
from nbafs import paths



def build_warehouse(kind: str) -> str:
    label = season.build_warehouse(kind)
    season.apply()
    return label


def stock_store(offline_type: str):
    """A FeatureStore on our registry and data whose offline store is Feast's own."""
    from feast import FeatureStore, RepoConfig

    ours = paths.REPO_ROOT / "feature_store.yaml"
    import yaml

    raw = yaml.safe_load(os.path.expandvars(ours.read_text()))
    raw["offline_store"] = {"type": offline_type}
    config = RepoConfig(**raw)
    config.repo_path = paths.data_dir()  # the stock file store resolves relative paths against it
    return FeatureStore(config=config)


def request_rows() -> pd.DataFrame:
    from nbafs import profile
    from serving import training_set

    rows = training_set.entity_rows_for_range()
    req = rows[["player_lookup", "game_id", "event_timestamp"]].copy()
    req["line_offered"] = training_set.consensus_lines(profile.feature_store(), rows).to_numpy()
    req["row_id"] = np.arange(len(req))
    return req


def timed(store, req: pd.DataFrame, repeat: int) -> tuple[list[float], pd.DataFrame]:
    service = store.get_feature_service("player_points_v1")
    seconds, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = store.get_historical_features(
            entity_df=req.copy(), features=service, filter_by_created_timestamp=True
        ).to_df()
        seconds.append(time.perf_counter() - t0)
    return seconds, out


def compare(ours: pd.DataFrame, other: pd.DataFrame, name: str) -> str:
    """'same' or a description of the first differing column."""
    if len(other) != len(ours):
        return f"{len(other)} rows vs {len(ours)}"
    a = ours.sort_values("row_id").reset_index(drop=True)
    b = other.sort_values("row_id").reset_index(drop=True)
    for col in a.columns:
        if col not in b.columns:
            return f"no column {col}"
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x) or pd.api.types.is_numeric_dtype(y):
            xf = pd.to_numeric(x, errors="coerce").astype("float64").to_numpy()
            yf = pd.to_numeric(y, errors="coerce").astype("float64").to_numpy()
            same = np.isclose(xf, yf, rtol=1e-12, atol=0, equal_nan=True)
        else:
            same = (x.astype("object").where(x.notna(), None) == y.astype("object").where(y.notna(), None)).to_numpy() | (
                x.isna().to_numpy() & y.isna().to_numpy())
        if not same.all():
            i = int(np.argmin(same))
            return f"{col} differs in {int((~same).sum())} rows (row_id {a['row_id'][i]}: {x[i]!r} vs {y[i]!r})"
    return "same values"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_training_retrieval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("auto", "real", "sample"), default="auto",
                        help="real season (needs ../shared/data), generated sample season, or auto (real when present)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per DuckDB store (best is reported); file store runs once")
    parser.add_argument("--skip-file", action="store_true", help="leave out the stock file (dask) store, the slow one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--rows", type=int, default=None,
                        help="use only the first N entity rows (a quick run); default: every played player-game")
    args = parser.parse_args(argv)

    kind = args.data
    if kind == "auto":
        kind = season.default_kind()
    tmp = tempfile.mkdtemp(prefix="nbafs-bench-")
    os.environ[paths.DATA_DIR_ENV] = tmp
    cwd = os.getcwd()
    try:
        print(f"building the warehouse in {tmp} ...", flush=True)
        t0 = time.perf_counter()
        label = build_warehouse(kind)
        req = request_rows()
        if args.rows:
            req = req.head(args.rows).reset_index(drop=True)
        print(f"{label}: {len(req):,} entity rows, built in {time.perf_counter() - t0:.1f} s", flush=True)

        from nbafs import profile

        results = []
        ours_s, ours_df = timed(profile.feature_store(), req, args.repeat)
        results.append(("ours (NbaDuckDBOfflineStore, ASOF)", ours_s, len(ours_df), "reference"))
        print(f"  ours: {min(ours_s):.2f} s", flush=True)
        os.chdir(tmp)  # the stock duckdb store resolves relative FileSource paths against the cwd
        stock = [("stock duckdb (ibis)", "duckdb", args.repeat)]
        if not args.skip_file:
            stock.append(("stock file (dask)", "file", 1))
        for name, offline_type, n in stock:
            try:
                secs, df = timed(stock_store(offline_type), req, n)
                verdict, rows = compare(ours_df, df, name), len(df)
            except Exception as exc:  # noqa: BLE001 - a stock store failing is a result to report
                secs, rows = [float("nan")], 0
                verdict = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            results.append((name, secs, rows, verdict))
            print(f"  {name}: {min(secs):.2f} s ({verdict})", flush=True)
        os.chdir(cwd)

        best_ours = min(ours_s)
        print()
        print(f"Training retrieval, feature service player_points_v1 ({len(catalog_order())} features), "
              f"{len(req):,} entity rows, filter_by_created_timestamp=True")
        print(f"{'offline store':<38} {'rows out':>8} {'best s':>8} {'median s':>9} {'ours faster':>12}  result vs ours")
        for name, secs, rows, verdict in results:
            best = min(secs)
            speed = "" if name.startswith("ours") else (f"{best / best_ours:10.1f}x" if best == best else "-")
            print(f"{name:<38} {rows:>8,} {best:>8.2f} {statistics.median(secs):>9.2f} {speed:>12}  {verdict}")
    finally:
        os.chdir(cwd)
        if args.keep:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def catalog_order() -> tuple[str, ...]:
    from feature_repo import catalog

    return catalog.PLAYER_POINTS_V1


if __name__ == "__main__":
    sys.exit(main())
