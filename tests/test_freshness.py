"""A backfill skips the transform only when the warehouse is what that transform would write now.

What is protected (``transformations/freshness.py``, ``nbafs backfill``):
- after a committed transform, its range (and any range inside it) is up to date, and a
  backfill of it skips the transform, saying so and why;
- a range reaching past the transformed one, a raw or derived file written since (even
  with the same rows), a change to the transformations' code, and a transform that
  failed midway all make the next backfill run the transform: the check can cost a
  transform, never skip one that would change a row;
- after a box score is corrected, the backfill transforms again and the corrected
  points reach the derived table and the online store;
- ``--retransform`` runs the transform of an up-to-date warehouse.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from materialize import backfill
from nbafs.errors import UserError
from tests import backfill_support as support
from transformations import freshness, runner
from warehouse import storage
from warehouse.schema import BDL_PLAYER_BOXSCORES, PLAYER_GAME_SUMMARY

START, END = dt.date(2025, 10, 21), dt.date(2025, 12, 2)


@pytest.fixture
def store_dir(small_store, monkeypatch):
    monkeypatch.setenv("NBAFS_PROGRESS", "plain")
    return small_store


def _a_box_score(day: dt.date) -> tuple[str, str, int]:
    rows = storage.read_table(BDL_PLAYER_BOXSCORES, day, day).to_pylist()
    row = next(r for r in rows if r["points"] and r["minutes"] and r["minutes"] > 20)
    return row["game_id"], row["player_lookup"], row["points"]


def _correct_points(game_id: str, player: str, points: int) -> None:
    """Rewrite the box score file holding that player-game with his points changed (a late correction)."""
    def change(t: pa.Table) -> pa.Table:
        hit = pc.and_(pc.equal(t["game_id"], game_id), pc.equal(t["player_lookup"], player))
        i = t.schema.get_field_index("points")
        return t.set_column(i, "points", pc.if_else(hit, pa.scalar(points, t["points"].type), t["points"]))

    support.rewrite_partitions(BDL_PLAYER_BOXSCORES.dataset, BDL_PLAYER_BOXSCORES.name, change)


def test_the_transformed_range_is_up_to_date_and_a_range_past_it_is_not(store_dir):
    first, last = runner.warehouse_range()
    fresh = freshness.up_to_date(START, END)
    assert fresh is not None and (fresh.start, fresh.end) == (first, last)
    assert freshness.up_to_date(first, last) is not None
    assert freshness.up_to_date(first, last + dt.timedelta(days=1)) is None
    assert freshness.up_to_date(first - dt.timedelta(days=1), last) is None


@pytest.mark.parametrize("table", [BDL_PLAYER_BOXSCORES, PLAYER_GAME_SUMMARY])
def test_a_table_file_written_since_even_with_the_same_rows_is_a_change(store_dir, table):
    assert freshness.up_to_date(START, END) is not None
    support.rewrite_partitions(table.dataset, table.name, lambda t: t)
    assert freshness.up_to_date(START, END) is None


def test_a_change_to_the_transformations_code_is_a_change(store_dir, tmp_path, monkeypatch):
    code = tmp_path / "player_stat_form.sql"
    code.write_text("SELECT 1")
    files = freshness._code_files()
    monkeypatch.setattr(freshness, "_code_files", lambda: [*files, code])
    runner.run_local(progress=None)
    assert freshness.up_to_date(START, END) is not None
    code.write_text("SELECT 2")
    assert freshness.up_to_date(START, END) is None


def test_a_transform_that_failed_midway_vouches_for_nothing(store_dir, monkeypatch):
    def failing(con, step, start, end):
        raise UserError(f"{step.display_path} failed on DuckDB (injected)")

    monkeypatch.setattr(runner, "_compute", failing)
    with pytest.raises(UserError, match="injected"):
        runner.run_local(progress=None)
    assert freshness.up_to_date(START, END) is None


def test_backfill_skips_an_up_to_date_transform_and_reruns_it_after_a_correction(store_dir):
    rep = backfill.backfill(START, END)
    phase = rep.phase("transform")
    assert rep.status == "ok" and rep.transform == {}
    assert phase.detail.startswith("skipped, up to date") and "--retransform" in phase.detail

    game_id, player, points = _a_box_score(dt.date(2025, 11, 12))
    _correct_points(game_id, player, points + 7)
    rep = backfill.backfill(START, END)
    assert rep.status == "ok" and rep.transform[PLAYER_GAME_SUMMARY.fqn] > 0
    summary = storage.read_table(PLAYER_GAME_SUMMARY).to_pylist()
    assert [r["points"] for r in summary if (r["game_id"], r["player_lookup"]) == (game_id, player)] == [points + 7]
    assert freshness.up_to_date(START, END) is not None  # that transform vouches for the tables again

    rep = backfill.backfill(START, END, retransform=True)
    assert rep.transform[PLAYER_GAME_SUMMARY.fqn] > 0
