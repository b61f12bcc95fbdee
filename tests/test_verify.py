"""`nbafs verify`: per-date coverage of usage_rate and the rolling usage, and usage_spike_score.

Protected: a healthy warehouse passes with full coverage; each failure the old pipeline
could hide (usage_rate missing for played rows, rolling usage missing, usage_spike_score
0 everywhere or NULL despite its inputs, missing context rows) fails the date, names it,
and makes the command exit 1.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from nbafs import cli, paths
from tests import tiny_season
from tests.warehouse_files import drop_day, set_day_column
from transformations.runner import run
from materialize.verify import verify
from warehouse import storage
from warehouse.schema import PLAYER_COMPOSITE_FACTORS, PLAYER_GAME_SUMMARY, UPCOMING_PLAYER_GAME_CONTEXT

DAY = dt.date(2025, 11, 6)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("verify")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        tiny_season.generate(seed=9, days=24, future_days=2)
        run(progress=None)
    return d


@pytest.fixture
def wh(good, tmp_path, monkeypatch):
    d = tmp_path / "wh"
    shutil.copytree(good, d)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    return d


def test_healthy_warehouse_passes_with_full_coverage(wh):
    results = verify()
    days = storage.partitions(UPCOMING_PLAYER_GAME_CONTEXT)
    assert [r["game_date"] for r in results] == [d.isoformat() for d in days]
    later = [r for r in results if r["with_history"]]
    assert later and all(r["usage_rate_pct"] in (100.0, None) for r in results)
    assert all(r["avg_usage_last_7_pct"] == 100.0 for r in later)
    assert all(0.5 < r["spike_mean"] < 1.5 and r["spike_nonzero"] > 0 for r in later)
    assert not any(r["problems"] for r in results)
    pgs = storage.read_table(PLAYER_GAME_SUMMARY, DAY, DAY).to_pandas()
    (r,) = [r for r in results if r["game_date"] == DAY.isoformat()]
    assert r["box_rows"] == len(pgs) and r["played"] == int((pgs.minutes > 0).sum())


def test_range_and_json(wh, capsys):
    assert cli.main(["verify", "--start", "2025-11-01", "--end", "2025-11-03", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["game_date"] for r in rows] == ["2025-11-01", "2025-11-02", "2025-11-03"][: len(rows)] and rows


def test_missing_usage_rate_for_played_rows_fails_the_date(wh, capsys):
    set_day_column(PLAYER_GAME_SUMMARY, DAY, "usage_rate", lambda v: [None] * len(v))
    (r,) = [r for r in verify() if r["game_date"] == DAY.isoformat()]
    assert r["usage_rate_pct"] == 0.0
    assert cli.main(["verify"]) == 1
    err = capsys.readouterr().err
    assert f"nbafs verify: {DAY}: {r['played']} of {r['played']} played player-games have no usage_rate" in err


def test_all_zero_usage_spike_score_fails_the_date(wh, capsys):
    set_day_column(PLAYER_COMPOSITE_FACTORS, DAY, "usage_spike_score", lambda v: [0.0] * len(v))
    assert cli.main(["verify", "--start", str(DAY), "--end", str(DAY)]) == 1
    err = capsys.readouterr().err
    assert f"{DAY}: usage_spike_score is 0 for all" in err


def test_spike_null_despite_inputs_and_missing_rolling_usage_fail(wh, capsys):
    set_day_column(PLAYER_COMPOSITE_FACTORS, DAY, "usage_spike_score", lambda v: [None] * len(v))
    set_day_column(UPCOMING_PLAYER_GAME_CONTEXT, DAY, "avg_usage_rate_last_7_games", lambda v: [None] + v[1:])
    (r,) = verify(DAY, DAY)
    assert any("usage_spike_score NULL although both inputs are present" in p for p in r["problems"])
    assert any(p.startswith(f"1 of {r['with_history']} context rows") for p in r["problems"])


def test_missing_context_partition_fails(wh, capsys):
    drop_day(UPCOMING_PLAYER_GAME_CONTEXT, DAY)
    (r,) = verify(DAY, DAY)
    assert "box-score rows but no upcoming_player_game_context rows" in " ".join(r["problems"])


def test_empty_warehouse_is_a_clear_error(data_dir, capsys):
    assert cli.main(["verify"]) == 1
    assert "run `nbafs transform` first" in capsys.readouterr().err
