"""The engine's parts, each on its own: chunk plan, proto conversion, checkpoints, store lock, progress.

Protects: chunks cover the window without gap or overlap and respect the row bound;
our column-wise protos carry exactly Feast's values (NULL and NaN empty); a checkpoint
resumes only the interrupted run it belongs to and keeps its per-date figures; the
store lock refuses or waits, names its holder, and is released when the holder is
killed; progress shows rows, dates, rate and ETA as plain lines off a terminal.
"""
from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pytest
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Bool, Float64, Int64, String
from feast.utils import _convert_arrow_to_proto

from materialize import engine, lock, progress, state
from materialize.checkpoint import FileCheckpointStore, run_key
from nbafs import paths

UTC = dt.timezone.utc


def _run(start: str, end: str, days: dict[str, int]) -> engine.ViewRun:
    r = engine.ViewRun.__new__(engine.ViewRun)
    r.start = dt.datetime.fromisoformat(start)
    r.end_excl = dt.datetime.fromisoformat(end)
    r.days = {dt.date.fromisoformat(d): n for d, n in days.items()}
    return r


def test_chunks_cover_the_window_without_gap_and_respect_the_row_bound():
    a = _run("2025-11-01T00:00:00+00:00", "2025-11-06T06:00:00.000001+00:00",
             {"2025-11-01": 100, "2025-11-02": 100, "2025-11-04": 300, "2025-11-05": 50, "2025-11-06": 10})
    b = _run("2025-11-02T12:00:00+00:00", "2025-11-05T00:00:00+00:00", {"2025-11-03": 150})
    chunks = engine._chunks([a, b], max_rows=250)
    assert chunks[0][0] == a.start and chunks[-1][1] == a.end_excl
    assert all(x[1] == y[0] for x, y in zip(chunks, chunks[1:]))  # contiguous: no row falls between
    assert all(hi.time() == dt.time() for _, hi in chunks[:-1])  # cut at UTC midnights only
    assert [c[0].date().isoformat() for c in chunks] == ["2025-11-01", "2025-11-03", "2025-11-04", "2025-11-05"]
    one = engine._chunks([a], max_rows=1)  # one game date per chunk
    assert len(one) == 5


def test_column_wise_protos_equal_feasts_conversion(tmp_path):
    player = Entity(name="player", join_keys=["player_lookup"], value_type=ValueType.STRING)
    src = FileSource(name="s", path=str(tmp_path / "x.parquet"), timestamp_field="event_timestamp",
                     created_timestamp_column="created_at")
    fv = FeatureView(name="v", entities=[player], source=src, schema=[
        Field(name="f", dtype=Float64), Field(name="i", dtype=Int64), Field(name="b", dtype=Bool),
        Field(name="s", dtype=String), Field(name="player_lookup", dtype=String)])
    ts = dt.datetime(2025, 11, 1, 6, tzinfo=UTC)
    table = pa.table({
        "player_lookup": ["a", "b", "c", "d"],
        "f": [1.5, None, float("nan"), 0.0],
        "i": [3, None, 0, 3],
        "b": [True, None, False, True],
        "s": ["x", None, "y", "x"],
        "event_timestamp": pa.array([ts] * 4, pa.timestamp("us", tz="UTC")),
        "created_at": pa.array([ts + dt.timedelta(hours=1)] * 4, pa.timestamp("us", tz="UTC")),
    })
    keys = {"player_lookup": ValueType.STRING}
    ours = engine._to_protos(table, fv, keys, "event_timestamp", "created_at")
    theirs = _convert_arrow_to_proto(table, fv, keys)
    assert len(ours) == len(theirs) == 4
    for (k1, v1, e1, c1), (k2, v2, e2, c2) in zip(ours, theirs):
        utc = lambda t: t if t.tzinfo else t.replace(tzinfo=UTC)  # noqa: E731 - Feast's are naive UTC
        assert k1 == k2 and utc(e1) == utc(e2) and utc(c1) == utc(c2)
        assert {n: p.SerializeToString() for n, p in v1.items()} == {n: p.SerializeToString() for n, p in v2.items()}


@pytest.mark.filterwarnings("error")  # no deprecation warning printed on every chunk (null_placement)
def test_latest_row_per_entity_matches_sql():
    """The dedup keeps, per entity, the greatest (event_timestamp, created_at), as Feast's dedup does,
    without any warning (pyarrow deprecated SortOptions' null_placement: it printed on every run)."""
    import duckdb
    import numpy as np

    rng = np.random.default_rng(7)
    n = 2000
    base = dt.datetime(2025, 11, 1, tzinfo=UTC)
    table = pa.table({
        "player_lookup": [f"p{i}" for i in rng.integers(0, 150, n)],
        "game_id": [f"g{i}" for i in rng.integers(0, 3, n)],
        "event_timestamp": pa.array([base + dt.timedelta(days=int(d)) for d in rng.integers(0, 4, n)],
                                    pa.timestamp("us", tz="UTC")),
        "created_at": pa.array([base + dt.timedelta(seconds=int(i)) for i in rng.permutation(n)], pa.timestamp("us", tz="UTC")),
        "value": np.arange(n, dtype=float),
    })
    for keys in (["player_lookup"], ["player_lookup", "game_id"]):
        ours = engine._latest_per_entity(table, keys, "event_timestamp", "created_at").sort_by([(k, "ascending") for k in keys])
        con = duckdb.connect()
        con.register("t", table)
        part = ", ".join(keys)
        sql = (f"SELECT * FROM t QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY event_timestamp DESC, "
               f"created_at DESC) = 1 ORDER BY {part}")
        expected = con.sql(sql).to_arrow_table()
        assert ours.column("value").to_pylist() == expected.column("value").to_pylist()


def test_checkpoint_resumes_only_its_own_interrupted_run(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    cps = FileCheckpointStore("p")
    start, end = dt.datetime(2025, 11, 1, tzinfo=UTC), dt.datetime(2025, 12, 1, tzinfo=UTC)
    key = run_key("view-v1", start, end)
    cp = cps.begin("v", key, start, end)
    assert cp.resumed_from is None
    cp.done_through = "2025-11-10T00:00:00+00:00"
    cps.save(cp, {"2025-11-09": {"usage_rate": {"rows": 5}}})
    again = cps.begin("v", key, start, end)  # killed, started again: resume
    assert again.resumed_from == "2025-11-10T00:00:00+00:00" and again.dates == {"2025-11-09": {"usage_rate": {"rows": 5}}}
    other = cps.begin("v", run_key("view-v1", start, end + dt.timedelta(days=1)), start, end)
    assert other.resumed_from is None and other.done_through is None  # another window: fresh
    again.completed = True
    cps.save(again)
    assert cps.begin("v", key, start, end).done_through is None  # completed: rewritten, not skipped
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temp file


HOLDER = textwrap.dedent("""
    import sys, time
    from materialize import state
    with state.open("p").lock("holder test"):
        print("held", flush=True)
        time.sleep(60)
""")


def test_store_lock_refuses_names_the_holder_and_dies_with_it(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=paths.REPO_ROOT, stdout=subprocess.PIPE, text=True,
                              env={**__import__("os").environ, paths.DATA_DIR_ENV: str(tmp_path)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(lock.StoreBusyError) as err:
            with state.open("p").lock("second", wait=False):
                pass
        assert "holder test" in str(err.value) and f"pid {holder.pid}" in str(err.value)
        holder.kill()  # SIGKILL: the kernel releases the flock
        holder.wait(10)
        t0 = time.perf_counter()
        with state.open("p").lock("after the kill", wait=False):
            with state.open("p").lock("re-entrant inside the same process", wait=False):
                pass
        assert time.perf_counter() - t0 < 1
    finally:
        if holder.poll() is None:
            holder.kill()


def test_plain_progress_lines_show_rows_dates_rate_and_eta(monkeypatch):
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.0)
    out = io.StringIO()
    with progress.Display(title="run", stream=out, mode="plain") as d:
        assert progress.current() is d
        with progress.phase("materialize", total_rows=1000, total_dates=10) as ph:  # joins the open display
            time.sleep(0.01)
            ph.advance(rows=400, dates=4)
    assert progress.current() is None
    lines = out.getvalue().splitlines()
    assert lines[0] == "run"
    assert lines[1].startswith("materialize: 4/10 dates, 400/1,000 rows, ") and "rows/s" in lines[1] and "ETA" in lines[1]
    assert "done in" in lines[-1]


def test_rich_progress_renders_on_a_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "140")
    out = io.StringIO()
    with progress.Display(stream=out, mode="rich") as d, d.phase("materialize", 100, 3) as ph:
        ph.advance(rows=100, dates=3)
    text = out.getvalue()
    assert "materialize" in text and "100/100 rows" in text and "3/3 dates" in text and "rows/s" in text


def test_rich_progress_of_a_phase_without_a_row_total_shows_rows_done_and_does_not_crash(monkeypatch):
    """A phase may not know its row total (verify, setup): the terminal bar must still render."""
    monkeypatch.setenv("COLUMNS", "140")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:  # rich redraws live bars only on a terminal
            return True

    out = Terminal()
    with progress.Display(stream=out, mode="rich") as d, d.phase("verify", total_rows=None, total_dates=5) as ph:
        ph.advance(rows=1234, dates=2)
        d._progress.refresh()  # render now, while the total is unknown (not only at the end)
        assert "1,234 rows" in out.getvalue() and "2/5 dates" in out.getvalue()
