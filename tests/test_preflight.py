"""Schema preflight (materialize/preflight.py): a renamed or retyped column fails at once, before anything runs.

Protects the second failure of the old pipeline (``scraped_at`` for ``created_at`` in the
betting-lines table failed backfill batches midway): ``nbafs backfill``, ``feast
materialize`` and ``feast apply`` all stop before writing, in under a second, naming the
table, the column, the closest existing name and who reads it.
"""
from __future__ import annotations

import datetime as dt
import time

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from materialize import backfill, preflight
from nbafs import paths
from tests import backfill_support as support

LINES = ("nba_raw", "odds_api_player_points_props")
START, END = dt.date(2025, 10, 21), dt.date(2025, 12, 2)


@pytest.fixture
def store_dir(small_store):
    return small_store


def _mtimes(d):
    return {p: p.stat().st_mtime_ns for p in (d / "warehouse").rglob("*.parquet")}


def test_healthy_warehouse_passes_and_reads_come_from_sql_and_views(store_dir):
    report = preflight.run()
    stored = [p for p in (store_dir / "warehouse").rglob("*.parquet") if "nba_feast_logs" not in p.parts]
    assert report.files_checked == len(stored) > 10 and report.skipped == []  # every file's footer
    reads = {(r.table, r.column) for r in preflight.transformation_reads()}
    assert ("nba_raw.odds_api_player_points_props", "created_at") in reads  # parsed from the lines SQL
    assert ("nba_analytics.player_game_summary", "usage_rate") in reads
    view_reads = {(r.table, r.column) for r in preflight.catalog_reads()}
    assert ("nba_precompute.player_composite_factors", "usage_spike_score") in view_reads
    assert ("nba_analytics.player_game_summary", "minutes") in view_reads  # usage_rate gate's eligible_when


def test_renamed_created_at_in_lines_table_stops_backfill_in_under_a_second(store_dir):
    support.rewrite_partitions(*LINES, support.rename_column("created_at", "scraped_at"))
    before = _mtimes(store_dir)
    t0 = time.perf_counter()
    with pytest.raises(preflight.PreflightError) as err:
        backfill.backfill(START, END)
    elapsed = time.perf_counter() - t0
    msg = str(err.value)
    assert elapsed < 1.0, f"preflight took {elapsed:.2f}s"
    assert "nba_raw.odds_api_player_points_props has no column 'created_at'" in msg
    assert "closest existing name: 'scraped_at'" in msg
    assert "transformations/sql/analytics/player_points_line_consensus.sql" in msg
    assert "Nothing was run or written" in msg
    after = {p: m for p, m in _mtimes(store_dir).items()}
    assert after == before  # no transformation wrote anything
    assert support.online_row_count(store_dir) == 0


def test_renamed_column_fails_the_cli_fast_with_a_clean_message(store_dir):
    support.rewrite_partitions(*LINES, support.rename_column("created_at", "scraped_at"))
    t0 = time.perf_counter()
    proc = support.run(support.nbafs_cmd("backfill", "--start", str(START), "--end", str(END)), store_dir)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 1
    assert "nbafs backfill: error: preflight: nba_raw.odds_api_player_points_props has no column 'created_at'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 3.0, f"the CLI took {elapsed:.2f}s to fail (process start included)"


def test_retyped_column_names_expected_and_found_types(store_dir):
    def to_text(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("points_line")
        return t.set_column(i, "points_line", pc.cast(t.column(i), pa.string()))

    support.rewrite_partitions(*LINES, to_text)
    with pytest.raises(preflight.PreflightError) as err:
        preflight.run()
    msg = str(err.value)
    assert "nba_raw.odds_api_player_points_props.points_line is string" in msg
    assert "expects FLOAT64" in msg


def test_rename_in_newest_partitions_only_is_found(store_dir):
    files = sorted(paths.table_dir(*LINES).glob("*.parquet"))
    import pyarrow.parquet as pq

    for f in files[-3:]:
        pq.write_table(support.rename_column("created_at", "scraped_at")(pq.read_table(f)), f)
    with pytest.raises(preflight.PreflightError, match=r"in 3 of \d+ partition files"):
        preflight.run()


def test_feast_materialize_runs_the_preflight_on_the_views_before_writing(store_dir):
    support.rewrite_partitions("nba_precompute", "player_composite_factors",
                               support.rename_column("usage_spike_score", "usage_spike"))
    store = support.feature_store()
    with pytest.raises(preflight.PreflightError) as err:
        store.materialize(*support.WINDOW)
    msg = str(err.value)
    assert "nba_precompute.player_composite_factors has no column 'usage_spike_score'" in msg
    assert "closest existing name: 'usage_spike'" in msg and "feature view player_composite_factors" in msg
    assert support.online_row_count(store_dir) == 0


def test_feast_apply_runs_the_same_preflight(store_dir):
    from nbafs.demo import feast_apply

    support.rewrite_partitions(*LINES, support.rename_column("created_at", "scraped_at"))
    with pytest.raises(preflight.PreflightError, match="closest existing name: 'scraped_at'"):
        feast_apply()
