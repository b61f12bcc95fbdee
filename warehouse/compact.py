"""Rewrite the local warehouse's daily tables as monthly files (the layout of ``warehouse.storage``).

    nbafs compact            every table with one file per game date becomes one file per month
    nbafs compact --dry-run  only say, per table, its layout, files and rows

Warehouses written before the monthly layout hold one parquet file per table and game
date (``<YYYY-MM-DD>.parquet``); they stay readable and writable as they are, but ten
seasons of them are 13,000+ files, and opening them is most of the time of a query, a
preflight or a transform. Compacting builds each table's month files in a folder beside
it and then swaps the folders, so a reader (a query, Feast, a backfill waiting for the
store) sees the old table or the new one, never half of each; the rows are the same
(checked before the swap: the row counts of the old and the new files). Tables already monthly are left
alone, so running it twice is harmless.

The local profile only: BigQuery partitions its tables by day on its own.
"""
from __future__ import annotations

import argparse
import time

from nbafs.errors import UserError
from warehouse import engine, storage
from warehouse.schema import ALL_TABLES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="print each table's layout, files and rows; rewrite nothing")


def run(args: argparse.Namespace) -> int:
    wh = engine.current()
    if wh.name != "duckdb":
        raise UserError(f"nbafs compact rewrites the local warehouse's files; the active profile uses {wh.where()} "
                        f"(BigQuery partitions by day itself). Unset NBAFS_PROFILE to compact the local one.")
    started = time.perf_counter()
    total_before = total_after = 0
    for table in ALL_TABLES:
        files = storage.files(table)
        if not files:
            continue
        layout = storage.table_layout(table)
        rows = storage.read_table(table, columns=[table.partition_by]).num_rows
        if args.dry_run or layout is storage.MONTHLY:
            print(f"{table.fqn:<46} {layout.name:<8} {len(files):>6,} files {rows:>10,} rows")
            total_before += len(files)
            total_after += len(files) if layout is storage.MONTHLY else len({storage.MONTHLY.key(d) for d in storage.partitions(table)})
            continue
        before, after = storage.compact(table)
        print(f"{table.fqn:<46} daily -> monthly: {before:,} files -> {after:,}, {rows:,} rows")
        total_before += before
        total_after += after
    verb = "would be" if args.dry_run else "now"
    print(f"{total_before:,} files, {verb} {total_after:,}, in {time.perf_counter() - started:.1f} s")
    return 0
