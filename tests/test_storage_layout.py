"""The local warehouse's layout: a file per table and month, written a season at a time, atomically.

What is protected:
- ten seasons give the same tables, raw and derived, row for row and bit for bit, in the
  monthly layout transformed a season at a time as in the layout of before (a file per
  game date) transformed in one pass, with far fewer files (a smaller league than the
  real one: 4 teams, 10 games each, with trades);
- rerunning a range, inside a season and across a month boundary, or everything, leaves
  every table as it was, with the same files and no leftover;
- a transform killed (SIGKILL) in the middle leaves every table readable and exactly as
  it was before, and the next run clears the dead run's staged files and finishes;
- a step failing for one season while other seasons are computed beside it (two
  workers) stops the run with its error, writes nothing and leaves no staged file;
- a season's queries open only the files of the dates its SQL may read, and how far back
  that is comes from the SQL itself: a longer look-back widens the window, a use of
  @start_date the runner cannot read is refused;
- the windows' and the prior-season features' history must exist: a --start whose
  previous season has box scores but no summary is refused, naming the season;
- a daily warehouse is compacted to the same rows; a folder mixing both layouts, and an
  unknown NBAFS_WAREHOUSE_LAYOUT, are refused with what to do.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nbafs import cli, paths
from nbafs.errors import UserError
from transformations import runner
from warehouse import sample_season, storage
from warehouse.schema import ALL_TABLES, BDL_PLAYER_BOXSCORES, DERIVED_TABLES, PLAYER_GAME_SUMMARY, SCHEDULE

SEASONS = [f"{y}-{(y + 1) % 100:02d}" for y in range(2016, 2026)]
LEAGUE = dict(seed=5, n_teams=4, games_per_team=10)
BIN = Path(sys.executable).parent


def _tables() -> dict[str, pd.DataFrame]:
    return {t.fqn: storage.read_table(t).to_pandas().sort_values(list(t.grain)).reset_index(drop=True)
            for t in ALL_TABLES}


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for fqn in a:
        pd.testing.assert_frame_equal(a[fqn], b[fqn], check_exact=True, obj=fqn)


def _build(root: Path, layout: str, by_season: bool, monkeypatch) -> dict[str, pd.DataFrame]:
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(root))
    monkeypatch.setenv(storage.LAYOUT_ENV, layout)
    for season in SEASONS:
        sample_season.generate(season, **LEAGUE)
    runner.run_local(progress=None, by_season=by_season, workers=2)  # two seasons at once, even on one core
    return _tables()


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, tuple[Path, dict[str, pd.DataFrame]]]:
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for name, layout, by_season in (("before", "daily", False), ("monthly", "monthly", True)):
            root = tmp_path_factory.mktemp(f"layout-{name}")
            out[name] = (root, _build(root, layout, by_season, mp))
    return out


@pytest.fixture
def monthly(stores, tmp_path, monkeypatch) -> Path:
    """A private copy of the ten-season monthly store as NBAFS_DATA_DIR."""
    d = tmp_path / "monthly"
    shutil.copytree(stores["monthly"][0], d)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    monkeypatch.delenv(storage.LAYOUT_ENV, raising=False)
    return d


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "warehouse").rglob("*") if p.is_file())


def test_ten_seasons_give_the_same_tables_as_a_file_per_date_in_one_pass(stores):
    (before_root, before), (monthly_root, monthly) = stores["before"], stores["monthly"]
    _assert_same(before, monthly)
    summary = monthly[PLAYER_GAME_SUMMARY.fqn]
    assert summary.season.nunique() == 10 and len(summary) > 3000
    for t in DERIVED_TABLES:
        assert len(monthly[t.fqn]) > 0, t.fqn
    n_before, n_monthly = len(_files(before_root)), len(_files(monthly_root))
    assert n_monthly * 5 < n_before, (n_monthly, n_before)
    # the game dates come from the files' footers, and are the dates of the rows
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(monthly_root))
        assert all(storage.table_layout(t) is storage.MONTHLY for t in ALL_TABLES if storage.files(t))
        for t in (SCHEDULE, PLAYER_GAME_SUMMARY):
            assert storage.partitions(t) == sorted(set(monthly[t.fqn].game_date))


def test_rerun_of_a_range_and_of_everything_changes_nothing(monthly):
    before, files = _tables(), _files(monthly)
    days = storage.partitions(PLAYER_GAME_SUMMARY)
    inside = [d for d in days if d.year == 2021 and d.month in (10, 11)]
    assert {d.month for d in inside} == {10, 11}
    runner.run_local(inside[len(inside) // 2], inside[-1], progress=None)  # across the Oct/Nov boundary
    _assert_same(before, _tables())
    runner.run_local(progress=None)
    _assert_same(before, _tables())
    assert _files(monthly) == files  # the same files, no staged leftover


def test_killed_transform_leaves_the_previous_files_and_the_next_run_finishes(monthly):
    before = _tables()
    for season in SEASONS:  # new raw rows: a finished transform would change every derived table
        sample_season.generate(season, seed=6, n_teams=4, games_per_team=10)
    raw_now = {fqn: df for fqn, df in _tables().items() if fqn not in {t.fqn for t in DERIVED_TABLES}}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(BIN / "nbafs"), "transform"], env=env, cwd=paths.REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("season ") and len(seen) >= 3:  # a few seasons computed and staged
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    staged = [p for p in (monthly / "warehouse").rglob(".*.tmp")]
    assert staged, "the killed run had staged files"
    after_kill = _tables()
    for t in DERIVED_TABLES:  # readable, and exactly as before the run
        pd.testing.assert_frame_equal(after_kill[t.fqn], before[t.fqn], check_exact=True, obj=t.fqn)

    runner.run_local(progress=None)
    assert not [p for p in (monthly / "warehouse").rglob(".*.tmp")], "the dead run's staged files are cleared"
    done = _tables()
    assert any(not done[t.fqn].equals(before[t.fqn]) for t in DERIVED_TABLES)
    for fqn, df in raw_now.items():
        pd.testing.assert_frame_equal(done[fqn], df, check_exact=True, obj=fqn)


def test_a_season_failing_beside_others_writes_nothing_and_leaves_no_staged_file(monthly, monkeypatch):
    before, files = _tables(), _files(monthly)
    for season in SEASONS:  # new raw rows: a finished transform would change every derived table
        sample_season.generate(season, seed=6, n_teams=4, games_per_team=10)
    compute = runner._compute
    failed = []

    def failing(con, step, start, end):
        if step.table.name == "player_stat_form" and start.year == 2019:
            failed.append(start)
            raise UserError(f"{step.display_path} failed on DuckDB (injected)")
        return compute(con, step, start, end)

    monkeypatch.setattr(runner, "_compute", failing)
    with pytest.raises(UserError, match="injected"):
        runner.run_local(progress=None, workers=2)
    assert failed, "the injected failure ran"
    assert not list((monthly / "warehouse").rglob(".*.tmp")), "staged files of the failed run are left"
    assert _files(monthly) == files
    after = _tables()
    for t in DERIVED_TABLES:
        pd.testing.assert_frame_equal(after[t.fqn], before[t.fqn], check_exact=True, obj=t.fqn)


def test_a_seasons_read_window_comes_from_how_far_back_the_sql_reads(tmp_path, monkeypatch):
    import datetime as dt

    from transformations import steps

    assert steps.history_years() == 2  # player_season_prior.sql: DATE_SUB(@start_date, INTERVAL 2 YEAR)
    assert runner.read_window(dt.date(2025, 8, 1), dt.date(2026, 4, 12)) == (dt.date(2023, 8, 1), dt.date(2026, 7, 31))
    assert runner.read_window(dt.date(2025, 12, 9), dt.date(2025, 12, 9)) == (dt.date(2023, 12, 1), dt.date(2026, 7, 31))

    def with_extra(sql: str, name: str) -> None:
        extra = tmp_path / name  # a file of its own: the SQL's text is read once per path
        extra.write_text(f"-- @start_date in a comment is not a read\n{sql}")
        monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, steps.Step(PLAYER_GAME_SUMMARY, str(extra))))
        steps.history_years.cache_clear()

    try:
        with_extra("SELECT * FROM nba_raw.schedule WHERE game_date >= DATE_SUB(@start_date, INTERVAL 30 MONTH)", "longer.sql")
        assert steps.history_years() == 3
        assert runner.read_window(dt.date(2025, 8, 1), dt.date(2026, 4, 12))[0] == dt.date(2022, 8, 1)
        with_extra("SELECT * FROM nba_raw.schedule WHERE game_date >= @start_date - 800", "unknown.sql")
        with pytest.raises(ValueError, match="unknown.sql uses @start_date in a form"):
            steps.history_years()
    finally:
        monkeypatch.undo()
        steps.history_years.cache_clear()


def test_start_whose_previous_season_has_no_summary_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    sample_season.generate("2024-25", **LEAGUE)
    sample_season.generate("2025-26", **LEAGUE)
    first_new = min(d for d in storage.partitions(BDL_PLAYER_BOXSCORES) if d.year == 2025 and d.month >= 8)
    with pytest.raises(UserError, match=r"season\(s\) 2024-25 before --start") as err:
        runner.run_local(first_new, progress=None)
    assert "prior-season features" in str(err.value) and "Nothing was written" in str(err.value)
    assert storage.partitions(PLAYER_GAME_SUMMARY) == []


def test_daily_store_compacts_to_the_same_rows(stores, tmp_path, monkeypatch, capsys):
    d = tmp_path / "daily"
    shutil.copytree(stores["before"][0], d)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    monkeypatch.delenv(storage.LAYOUT_ENV, raising=False)
    assert storage.table_layout(SCHEDULE) is storage.DAILY
    before = len(_files(d))
    assert cli.main(["compact"]) == 0
    assert "daily -> monthly" in capsys.readouterr().out
    assert all(storage.table_layout(t) is storage.MONTHLY for t in ALL_TABLES if storage.files(t))
    assert len(_files(d)) * 5 < before
    _assert_same(stores["before"][1], _tables())
    assert cli.main(["compact"]) == 0  # twice is harmless
    _assert_same(stores["before"][1], _tables())


def test_mixed_folder_and_unknown_layout_are_refused(monthly, monkeypatch):
    first = storage.files(SCHEDULE)[0]
    shutil.copy(first, first.with_name(f"{first.stem}-01.parquet"))
    with pytest.raises(UserError, match="mixes monthly .* run `nbafs compact`"):
        storage.table_layout(SCHEDULE)
    monkeypatch.setenv(storage.LAYOUT_ENV, "weekly")
    shutil.rmtree(storage.table_dir(SCHEDULE))
    with pytest.raises(UserError, match="NBAFS_WAREHOUSE_LAYOUT='weekly': expected one of monthly, daily"):
        storage.table_layout(SCHEDULE)
