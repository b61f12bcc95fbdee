"""Bad input stops a transformation with one clear message and writes nothing.

Each test starts from a transformed tiny season, breaks one raw partition the way an
upstream bug would (files written directly, bypassing the importers' validation), runs
the transform again and checks the message (table, row or column, what was expected)
and that no derived partition changed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from nbafs import cli, paths
from tests import tiny_season
from tests.warehouse_files import day_rows, rewrite_day
from transformations.runner import run
from warehouse import storage
from warehouse.schema import BDL_PLAYER_BOXSCORES, DERIVED_TABLES, SCHEDULE, TEAM_BOXSCORES
from warehouse.validate import ValidationError

DAY = dt.date(2025, 11, 4)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        tiny_season.generate(seed=5)
        run(progress=None)
    return d


@pytest.fixture
def wh(good, tmp_path, monkeypatch):
    """A private copy of the transformed tiny season as NBAFS_DATA_DIR."""
    d = tmp_path / "wh"
    shutil.copytree(good, d)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    return d


def derived_files() -> dict[str, str]:
    out = {}
    for t in DERIVED_TABLES:
        for day in storage.partitions(t):
            p = storage.partition_path(t, day)
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def transform_fails(match: str) -> str:
    before = derived_files()
    assert before
    with pytest.raises(ValidationError, match=match) as info:
        run(progress=None)
    assert derived_files() == before, "a failed transform must not write"
    return str(info.value)


def test_played_game_without_team_totals(wh):
    team = day_rows(TEAM_BOXSCORES, DAY)
    gone = team.slice(0, 1).to_pylist()[0]
    rewrite_day(TEAM_BOXSCORES, DAY, lambda t: t.slice(1))
    msg = transform_fails("no team totals")
    assert "nba_raw.bdl_player_boxscores" in msg and "nba_raw.team_boxscores" in msg
    assert f"game_id={gone['game_id']}" in msg and f"team_abbr={gone['team_abbr']}" in msg
    assert "player_lookup=" in msg and "such row(s) in all" in msg and "Nothing was written" in msg


def test_duplicate_player_game_rows(wh):
    def dup(t: pa.Table) -> pa.Table:
        return pa.concat_tables([t, t.slice(2, 1)])

    first = day_rows(BDL_PLAYER_BOXSCORES, DAY).slice(2, 1).to_pylist()[0]
    rewrite_day(BDL_PLAYER_BOXSCORES, DAY, dup)
    msg = transform_fails("appears 2 times")
    assert msg.startswith("nba_raw.bdl_player_boxscores: (game_id=")
    assert f"player_lookup={first['player_lookup']}" in msg and "expected one row per (game_id, player_lookup)" in msg


def test_renamed_input_column_names_table_column_and_closest_name(wh):
    rewrite_day(BDL_PLAYER_BOXSCORES, DAY, lambda t: t.rename_columns(["tov" if c == "turnovers" else c for c in t.column_names]))
    msg = transform_fails("has no column 'turnovers'")
    assert msg.startswith("preflight: nba_raw.bdl_player_boxscores has no column 'turnovers' in 1 of ")
    assert f"(first: {storage.partition_path(BDL_PLAYER_BOXSCORES, DAY)})" in msg and "closest existing name: 'tov'" in msg
    assert "transformations/sql/analytics/player_game_summary.sql" in msg


def test_negative_count(wh):
    def negative(t: pa.Table) -> pa.Table:
        fga = t.column("fga").to_pylist()
        fga[0] = -3
        return t.set_column(t.column_names.index("fga"), "fga", pa.array(fga, pa.int64()))

    row = day_rows(BDL_PLAYER_BOXSCORES, DAY).slice(0, 1).to_pylist()[0]
    rewrite_day(BDL_PLAYER_BOXSCORES, DAY, negative)
    msg = transform_fails("column fga is -3, expected >= 0")
    assert f"nba_raw.bdl_player_boxscores row (game_id={row['game_id']}, player_lookup={row['player_lookup']})" in msg


def test_box_score_of_a_game_missing_from_the_schedule(wh):
    sched = day_rows(SCHEDULE, DAY)
    gone = sched.column("game_id")[0].as_py()
    rewrite_day(SCHEDULE, DAY, lambda t: t.filter(pc.not_equal(t.column("game_id"), gone)))
    transform_fails(f"game_id={gone} dated {DAY} but nba_raw.schedule has no such game")


def test_cli_prints_the_message_without_traceback_and_exits_1(wh, capsys):
    rewrite_day(TEAM_BOXSCORES, DAY, lambda t: t.slice(1))
    assert cli.main(["transform"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nbafs transform: error: nba_raw.bdl_player_boxscores row") and "Traceback" not in err
