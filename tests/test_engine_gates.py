"""The original bug, replayed: usage_rate lost upstream stops ``feast materialize`` before the bad dates are written.

The old pipeline's historical query read a table without ``usage_rate`` (the fix was a
LEFT JOIN to player_game_summary); avg_usage_rate_last_7_games and usage_spike_score
then carried nothing but defaults for months. Here usage_rate is nulled in
nba_analytics.player_game_summary from a mid-season date on, the downstream SQL
transformations rerun on it, and materialization must stop at that date, write
nothing of its chunk, name the three features and the upstream usage_rate column,
and resume once the table is fixed.
"""
from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc
import pytest

from materialize.gates import GateError
from nbafs import paths
from nbafs.timeline import box_score_known_at
from tests import backfill_support as support
from tests.warehouse_files import set_day_column
from transformations.steps import STEPS
from warehouse import storage
from warehouse.schema import PLAYER_GAME_SUMMARY
from warehouse.validate import conform

BROKEN_FROM = dt.date(2025, 11, 10)


@pytest.fixture
def store_dir(small_store):
    return small_store


def _lose_usage_rate_from(day: dt.date) -> None:
    """usage_rate NULL in player_game_summary from ``day`` on, and every table built from it rebuilt."""
    for d in storage.partitions(PLAYER_GAME_SUMMARY):
        if d >= day:
            set_day_column(PLAYER_GAME_SUMMARY, d, "usage_rate", lambda v: [None] * len(v))
    first, last = storage.partitions(PLAYER_GAME_SUMMARY)[0], storage.partitions(PLAYER_GAME_SUMMARY)[-1]
    con = storage.connect()
    downstream = [s for s in STEPS if PLAYER_GAME_SUMMARY.fqn in s.inputs()]
    assert {s.table.name for s in downstream} >= {"upcoming_player_game_context", "player_composite_factors"}
    for step in downstream:
        data = conform(step.table, con.sql(step.duckdb_sql(first, last)).to_arrow_table().to_pandas(),
                       source=step.display_path)
        storage.write_partitions(step.table, data)
        storage.attach_table(con, step.table)


def test_usage_rate_lost_everywhere_names_all_three_features_and_the_upstream_column(store_dir):
    """The original bug: the history feeding the rolling usage had no usage_rate at all."""
    _lose_usage_rate_from(dt.date(2000, 1, 1))
    store = support.feature_store()
    with pytest.raises(GateError) as err:
        store.materialize(*support.WINDOW)
    msg = str(err.value)
    failing = {f.feature for f in err.value.failures}
    assert {"usage_rate", "avg_usage_rate_last_7_games", "usage_spike_score"} <= failing
    for feature in ("usage_rate", "avg_usage_rate_last_7_games", "usage_spike_score"):
        assert f"  - {feature} (view " in msg
    assert "0.0% populated" in msg and "at least 90% required (min_populated)" in msg
    assert "computed from: nba_analytics.player_game_summary.usage_rate" in msg
    assert support.online_row_count(store_dir) == 0


def test_a_break_mid_season_stops_at_its_chunk_and_keeps_the_chunks_before(store_dir, monkeypatch):
    _lose_usage_rate_from(BROKEN_FROM)
    monkeypatch.setenv("NBAFS_CHUNK_ROWS", "400")  # several chunks before the break
    store = support.feature_store()
    with pytest.raises(GateError) as err:
        store.materialize(*support.WINDOW)
    first_bad = min(f.date for f in err.value.failures)
    assert first_bad == BROKEN_FROM.isoformat()
    assert {f.feature for f in err.value.failures if f.date == first_bad} == {"usage_rate"}
    # Nothing of the failing chunk (or later) is online; everything before it is.
    # The chunk holds the first broken rows: BROKEN_FROM's box scores, whose event time is
    # 06:00 UTC the day after (it may start on either UTC day, wherever the plan cut).
    chunk_start = err.value.chunk_dates[0]
    assert chunk_start <= box_score_known_at(BROKEN_FROM).date().isoformat()
    for name, frame in support.dump_all(store).items():
        assert len(frame), f"{name}: the chunks before the break were not written"
        latest = frame["event_timestamp"].max()
        assert latest < dt.datetime.fromisoformat(chunk_start).replace(tzinfo=dt.timezone.utc), (
            f"{name}: rows of the failing chunk reached the online store")
    assert f"nothing with event times {chunk_start}.." in str(err.value)


def test_after_fixing_the_table_the_same_command_resumes_and_completes(store_dir, monkeypatch, tmp_path_factory):
    monkeypatch.setenv("NBAFS_CHUNK_ROWS", "400")
    _lose_usage_rate_from(BROKEN_FROM)
    store = support.feature_store()
    with pytest.raises(GateError):
        store.materialize(*support.WINDOW)
    # Fix: rebuild the derived tables from the raw ones (what `nbafs transform` does).
    from transformations import runner

    runner.run(progress=None)
    store = support.feature_store()
    store.materialize(*support.WINDOW)
    run = store._get_provider().batch_engine.last_run
    assert run.resumed, "the rerun started over instead of resuming"
    reference = support.clone(support.template(tmp_path_factory), tmp_path_factory.mktemp("ref") / "store")
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(reference))
    clean = support.feature_store()
    clean.materialize(*support.WINDOW)
    support.assert_same_store(support.dump_all(store), support.dump_all(clean))


def test_usage_rate_gate_only_judges_players_who_played(store_dir):
    """DNP rows (minutes 0) have NULL usage_rate by definition and must not trip the gate."""
    pgs = storage.read_table(PLAYER_GAME_SUMMARY)
    dnp = pc.sum(pc.equal(pgs.column("minutes"), 0)).as_py()
    assert dnp > 0, "the sample season should have DNP rows"
    store = support.feature_store()
    store.materialize(*support.WINDOW)  # no GateError


def test_plain_feast_materialize_fails_with_the_gate_message_and_no_traceback(store_dir):
    _lose_usage_rate_from(dt.date(2000, 1, 1))
    proc = support.run(support.feast_materialize_cmd(*support.WINDOW), store_dir)
    assert proc.returncode == 1
    assert "feast: error: quality gate failed on game date" in proc.stderr
    assert "usage_spike_score" in proc.stderr and "Traceback" not in proc.stderr
    assert support.online_row_count(store_dir) == 0
