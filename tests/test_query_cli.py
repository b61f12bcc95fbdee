"""`nbafs query` runs any SQL on the local warehouse and prints a table, CSV or JSON;
`nbafs schema` prints the declarations as DDL or Markdown.

Protected: output formats round-trip the values (dates stay dates, NULL stays NULL),
BigQuery SQL can be pasted with --dialect bigquery, a bad query is one message (exit 1)
that lists the tables, and the docs cover every declared column.
"""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from nbafs import cli, paths
from tests import tiny_season
from warehouse.schema import ALL_TABLES


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    d = tmp_path_factory.mktemp("query")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        frames = tiny_season.generate(seed=1, days=8, future_days=2)
    return d, frames


@pytest.fixture
def wh(raw, monkeypatch):
    d, frames = raw
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    return frames


SQL = (
    "SELECT game_id, game_date, player_lookup, minutes, points FROM nba_raw.bdl_player_boxscores "
    "ORDER BY game_date, game_id, player_lookup"
)


def query(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["query", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_csv_round_trips_the_rows(wh, capsys):
    code, out, _ = query(capsys, "--format", "csv", SQL)
    assert code == 0
    got = pd.read_csv(io.StringIO(out), dtype={"game_id": str})
    box = wh["nba_raw.bdl_player_boxscores"].sort_values(["game_date", "game_id", "player_lookup"])
    assert len(got) == len(box)
    assert list(got.game_date) == [d.isoformat() for d in box.game_date]
    assert got.points.isna().sum() == box.points.isna().sum()  # NULL stays empty, not 0


def test_json_is_valid_with_iso_dates_and_nulls(wh, capsys):
    code, out, _ = query(
        capsys, "--format", "json",
        "SELECT game_date, created_at, CAST(NULL AS DOUBLE) AS nothing, CAST('NaN' AS DOUBLE) AS nan, 1.5 AS x "
        "FROM nba_raw.schedule ORDER BY game_date LIMIT 2",
    )
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["game_date"] == "2025-10-21"
    assert rows[0]["created_at"].endswith("+00:00")
    assert rows[0]["nothing"] is None and rows[0]["nan"] is None and rows[0]["x"] == 1.5


def test_table_shows_null_and_a_row_count(wh, capsys):
    code, out, _ = query(capsys, "--max-rows", "3", SQL)
    assert code == 0
    assert "player_lookup" in out and "2025-10-21" in out
    assert f"{len(wh['nba_raw.bdl_player_boxscores']):,} row(s), showing the first 3" in out


def test_bigquery_dialect_is_transpiled(wh, capsys):
    code, out, _ = query(capsys, "--format", "csv", "--dialect", "bigquery", "SELECT SAFE_DIVIDE(1, 0) AS a, IF(TRUE, 2, 3) AS b")
    assert code == 0 and out.splitlines() == ["a,b", ",2"]


def test_sql_from_stdin(wh, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT COUNT(*) AS n FROM nba_raw.schedule"))
    code, out, _ = query(capsys, "--format", "csv", "-")
    assert code == 0 and out.splitlines()[1] == str(len(wh["nba_raw.schedule"]))


def test_bad_query_is_one_message_listing_the_tables(wh, capsys):
    code, out, err = query(capsys, "SELECT * FROM nba_raw.box_scores")
    assert code == 1 and out == ""
    assert err.startswith("nbafs query: error: the query failed on the local warehouse")
    assert "nba_raw.bdl_player_boxscores" in err and "Traceback" not in err


def test_schema_markdown_documents_every_column(capsys):
    assert cli.main(["schema", "--markdown"]) == 0
    out = capsys.readouterr().out
    for t in ALL_TABLES:
        assert f"### `{t.fqn}`" in out
        for c in t.columns:
            assert f"| `{c.name}` | {c.type} |" in out


def test_schema_unknown_table_is_refused(capsys):
    assert cli.main(["schema", "nba_raw.nope"]) == 1
    assert "no table 'nba_raw.nope' is declared" in capsys.readouterr().err
