"""The warehouse seam (warehouse/engine.py) on both engines: DuckDB locally, BigQuery (the emulator) in prod.

Protects, with the same checks on both engines where they apply:
- `nbafs import` writes and reads the stored rows it keeps through the engine;
- partitions are replaced whole, a date named but without rows is emptied, a rewrite is
  idempotent, reads are typed by the declaration; on BigQuery a write that fails inside
  its transaction leaves the table as it was and no staging table behind;
- query parameters (DATE, TIMESTAMP, INT64, STRING, arrays) bind the same way;
- a renamed upstream column (scraped_at for created_at) and a missing team total stop
  the transform before anything is written, with the same message on both engines
  (table, column, closest name, reader);
- NBAFS_PROFILE=prod `nbafs generate` + `nbafs transform` give the local tables column
  for column (floats within 1e-9), a range rerun is idempotent, and `nbafs query`,
  verify, training entity rows, labels, closing lines, slate players and the batch
  engine's per-day plan read BigQuery and equal the local answers;
- BigQuery not answering, or a table not created yet, is one message saying what to do.
"""
from __future__ import annotations

import datetime as dt
import socket

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from nbafs import cli, paths
from nbafs.profile import PROFILE_ENV
from tests import backfill_support as support
from tests.league import LEAGUE, local_league, prod_league, use  # noqa: F401 - fixtures
from warehouse import columns, engine, gcp, sample_season, storage
from warehouse.schema import (
    ALL_TABLES,
    DERIVED_TABLES,
    ODDS_API_PLAYER_POINTS_PROPS,
    PLAYER_GAME_SUMMARY,
    SCHEDULE,
    TEAM_BOXSCORES,
    UPCOMING_PLAYER_GAME_CONTEXT,
)
from warehouse.validate import ValidationError, conform

UTC = dt.timezone.utc
ENGINES = ["local", pytest.param("prod", marks=pytest.mark.prod)]


def _local_env(directory) -> dict[str, str]:
    return {paths.DATA_DIR_ENV: str(directory)}


@pytest.fixture(params=ENGINES)
def wh(request, tmp_path, monkeypatch) -> engine.Warehouse:
    """An empty warehouse of each engine."""
    if request.param == "prod":
        request.getfixturevalue("prod_env")
    else:
        use(monkeypatch, _local_env(tmp_path / "data"))
    return engine.current()


@pytest.fixture(params=ENGINES)
def league(request, monkeypatch) -> engine.Warehouse:
    """The small generated league, transformed, in each engine (read it only)."""
    use(monkeypatch, request.getfixturevalue(f"{request.param}_league"))
    return engine.current()


def _sorted(table: pa.Table, keys) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in keys])


def _schedule() -> pa.Table:
    frames = sample_season.build(season="2025-26", seed=3, n_teams=6, games_per_team=20)
    return conform(SCHEDULE, frames[SCHEDULE.fqn].reset_index(drop=True))


# --- partitions and parameters ----------------------------------------------------------------


def test_partitions_are_replaced_whole_and_idempotently(wh):
    data = _schedule()
    keys = ["game_date", "game_id"]
    days = sorted(set(data.column("game_date").to_pylist()))
    assert wh.partitions(SCHEDULE) == [] and wh.read(SCHEDULE).num_rows == 0  # nothing yet, no error

    assert wh.write_partitions(SCHEDULE, data) == data.num_rows
    assert wh.partitions(SCHEDULE) == days
    got = wh.read(SCHEDULE)
    assert got.schema == SCHEDULE.arrow_schema()
    assert _sorted(got, keys).to_pylist() == _sorted(data, keys).to_pylist()

    # Replace day 0 by one of its games, empty day 1, leave every other day alone.
    d0, d1 = days[0], days[1]
    first = data.filter(pc.equal(data.column("game_date"), pa.scalar(d0, pa.date32()))).slice(0, 1)
    changed = first.set_column(first.schema.get_field_index("season"), "season", pa.array(["changed"]))
    assert wh.write_partitions(SCHEDULE, changed, replace_dates=[d0, d1]) == 1
    assert wh.partitions(SCHEDULE) == [d for d in days if d != d1]
    assert wh.read(SCHEDULE, d0, d0).to_pylist() == changed.to_pylist()
    untouched = data.filter(pc.greater(data.column("game_date"), pa.scalar(d1, pa.date32())))
    assert _sorted(wh.read(SCHEDULE, days[2]), keys).to_pylist() == _sorted(untouched, keys).to_pylist()

    before = _sorted(wh.read(SCHEDULE), keys)
    wh.write_partitions(SCHEDULE, changed, replace_dates=[d0, d1])  # the same write again
    assert _sorted(wh.read(SCHEDULE), keys).equals(before)

    narrow = wh.read(SCHEDULE, days[2], days[4], columns=["game_id", "tipoff_at"])
    assert narrow.schema == pa.schema([SCHEDULE.arrow_schema().field("game_id"), SCHEDULE.arrow_schema().field("tipoff_at")])
    assert narrow.num_rows == sum(1 for d in data.column("game_date").to_pylist() if days[2] <= d <= days[4])


def test_query_parameters_bind_the_same_way(wh):
    data = _schedule()
    wh.write_partitions(SCHEDULE, data)
    rows = data.to_pylist()
    day = rows[10]["game_date"]
    ids = [r["game_id"] for r in rows[:7]]
    at = dt.datetime(2025, 11, 1, 0, 0, tzinfo=UTC)
    got = wh.query(
        "SELECT game_id, tipoff_at FROM nba_raw.schedule "
        "WHERE (game_date = @day OR game_id IN UNNEST(@ids)) AND season = @season "
        "AND tipoff_at < @at AND LENGTH(game_id) = @n ORDER BY game_id",
        {"day": day, "ids": ids, "season": "2025-26", "at": at, "n": len(rows[0]["game_id"])},
    )
    expected = sorted(
        r["game_id"] for r in rows
        if (r["game_date"] == day or r["game_id"] in ids) and r["tipoff_at"] < at
    )
    assert expected and got.column("game_id").to_pylist() == expected
    assert got.schema.field("tipoff_at").type == pa.timestamp("us", tz="UTC")
    counted = wh.query("SELECT COUNTIF(tipoff_at IS NOT NULL) AS n, SUM(1) AS s FROM nba_raw.schedule")
    assert counted.schema.field("n").type == pa.int64() and counted.schema.field("s").type == pa.int64()
    assert counted.to_pylist() == [{"n": data.num_rows, "s": data.num_rows}]


@pytest.mark.prod
def test_a_write_failing_inside_its_transaction_leaves_the_bigquery_table_as_it_was(prod_env):
    wh = engine.current()
    data = _schedule()
    wh.write_partitions(SCHEDULE, data)
    before = _sorted(wh.read(SCHEDULE), ["game_date", "game_id"])
    # The stored table drifted from the declaration: the DELETE runs, the INSERT fails.
    wh.execute("ALTER TABLE nba_raw.schedule RENAME COLUMN season TO season_label")
    with pytest.raises(engine.QueryError, match="replacing 34 partitions of nba_raw.schedule"):
        wh.write_partitions(SCHEDULE, data.slice(0, 5), replace_dates=sorted(set(data.column("game_date").to_pylist())))
    wh.execute("ALTER TABLE nba_raw.schedule RENAME COLUMN season_label TO season")
    assert _sorted(wh.read(SCHEDULE), ["game_date", "game_id"]).equals(before)
    tables = wh.query("SELECT table_name FROM nba_raw.INFORMATION_SCHEMA.TABLES").column("table_name").to_pylist()
    assert tables == ["schedule"]  # the staging table was dropped


def test_nbafs_import_writes_and_reads_existing_rows_through_the_engine(wh, tmp_path):
    from tests import test_import_bad_input as f
    from warehouse.importers import import_paths

    files = {
        "teams": f.write_csv(tmp_path / "teams.csv", f.TEAM_COLUMNS, f.team_rows()),
        "realgm": f.write_csv(tmp_path / "realgm.csv", f.REALGM_COLUMNS, f.realgm_rows()),
        "odds": f.write_csv(tmp_path / "odds.csv.gz", f.ODDS_COLUMNS, f.odds_rows()),
    }
    import_paths(list(files.values()), progress=None)
    assert wh.query("SELECT COUNT(*) AS n FROM nba_raw.schedule").to_pylist() == [{"n": 3}]
    got = wh.query(
        "SELECT game_id, team_abbr, opponent_team_abbr, minutes FROM nba_raw.bdl_player_boxscores "
        "WHERE player_lookup = @p ORDER BY game_id", {"p": "lukadoncic"}).to_pylist()
    assert [tuple(r.values()) for r in got] == [("0022500002", "LAL", "GSW", 30.25), ("0022500003", "LAL", "OKC", 30.25)]
    # A later snapshot keeps the earlier one's lines (the importer reads the stored rows), twice over.
    later = [dict(r, snapshot_file="raw_20251021_200000.csv", line=str(float(r["line"]) + 1)) for r in f.odds_rows()]
    path = f.write_csv(tmp_path / "later.csv", f.ODDS_COLUMNS, later)
    import_paths([path], progress=None)
    import_paths([path], progress=None)
    per_snapshot = wh.query("SELECT snapshot_at, COUNT(*) AS n FROM nba_raw.odds_api_player_points_props GROUP BY 1")
    assert sorted(per_snapshot.column("n").to_pylist()) == [3, 3]
    # Team logs again: the stored tip-off times are kept.
    import_paths([files["teams"]], progress=None)
    tipoff = wh.query("SELECT COUNTIF(tipoff_at IS NOT NULL) AS n FROM nba_raw.schedule WHERE game_id = '0022500001'")
    assert tipoff.to_pylist() == [{"n": 1}]


# --- bad input stops the transform, the same way on both engines -------------------------------


def _rename_column(wh, table, old: str, new: str) -> None:
    """What an upstream rename does to the stored table (bypassing our writers)."""
    if wh.name == "duckdb":
        support.rewrite_partitions(table.dataset, table.name, support.rename_column(old, new))
    else:
        wh.execute(f"ALTER TABLE {table.fqn} RENAME COLUMN {old} TO {new}")


def _delete_row(wh, table, game_id: str, team: str) -> None:
    if wh.name == "duckdb":
        for day in storage.partitions(table):
            path = storage.partition_path(table, day)
            t = pq.read_table(path)
            keep = pc.invert(pc.and_(pc.equal(t.column("game_id"), game_id), pc.equal(t.column("team_abbr"), team)))
            pq.write_table(t.filter(keep), path)
    else:
        wh.execute(f"DELETE FROM {table.fqn} WHERE game_id = @g AND team_abbr = @t", {"g": game_id, "t": team})


def test_bad_input_stops_the_transform_with_one_message_and_writes_nothing(wh):
    from materialize import preflight
    from transformations import runner

    assert cli.main(["generate", *LEAGUE]) == 0
    lines = ODDS_API_PLAYER_POINTS_PROPS
    _rename_column(wh, lines, "created_at", "scraped_at")
    with pytest.raises(columns.ColumnError) as err:
        runner.run(progress=None)
    msg = str(err.value)
    assert msg.startswith(f"preflight: {lines.fqn} has no column 'created_at' in ")
    if wh.name == "duckdb":
        n = len(storage.files(lines))
        assert f"in {n} of {n} partition files (first: {storage.files(lines)[0]})" in msg
    else:
        assert f"in BigQuery table {gcp.project()}.{lines.fqn};" in msg
    assert "closest existing name: 'scraped_at'" in msg
    assert "transformations/sql/analytics/player_points_line_consensus.sql" in msg
    assert "declared TIMESTAMP in warehouse/schema.py" in msg and "Nothing was run or written" in msg
    with pytest.raises(columns.ColumnError, match="closest existing name: 'scraped_at'"):
        preflight.run()  # the backfill's preflight is the same check
    assert all(wh.partitions(t) == [] for t in DERIVED_TABLES)

    _rename_column(wh, lines, "scraped_at", "created_at")
    team = wh.read(TEAM_BOXSCORES).to_pylist()[0]
    _delete_row(wh, TEAM_BOXSCORES, team["game_id"], team["team_abbr"])
    with pytest.raises(ValidationError) as err:
        runner.run(progress=None)
    msg = str(err.value)
    assert "no team totals in nba_raw.team_boxscores" in msg
    assert f"game_id={team['game_id']}, team_abbr={team['team_abbr']}" in msg and "Nothing was written" in msg
    assert all(wh.partitions(t) == [] for t in DERIVED_TABLES)


# --- the generated league: BigQuery equals the local warehouse -------------------------------


def _assert_same_table(table, local: pa.Table, prod: pa.Table) -> None:
    keys = list(dict.fromkeys([table.partition_by, *table.grain]))
    local, prod = _sorted(local, keys), _sorted(prod, keys)
    assert local.schema == prod.schema == table.arrow_schema(), table.fqn
    assert local.num_rows == prod.num_rows > 0, table.fqn
    for name in table.column_names:
        a, b = local.column(name).to_pylist(), prod.column(name).to_pylist()
        if pa.types.is_floating(table.arrow_schema().field(name).type):
            assert [x is None for x in a] == [y is None for y in b], f"{table.fqn}.{name}: NULLs differ"
            worst = max((abs(x - y) for x, y in zip(a, b) if x is not None), default=0.0)
            assert worst <= 1e-9, f"{table.fqn}.{name}: differs by {worst}"
        else:
            assert a == b, f"{table.fqn}.{name} differs"


@pytest.mark.prod
def test_generate_and_transform_on_bigquery_give_the_local_tables(local_league, prod_league, monkeypatch):
    tables = {}
    for name, env in (("local", local_league), ("prod", prod_league)):
        use(monkeypatch, env)
        wh = engine.current()
        assert wh.name == {"local": "duckdb", "prod": "bigquery"}[name]
        tables[name] = {t.fqn: wh.read(t) for t in ALL_TABLES}
    for t in ALL_TABLES:
        _assert_same_table(t, tables["local"][t.fqn], tables["prod"][t.fqn])


@pytest.mark.prod
def test_every_derived_float_has_the_same_bits_on_both_engines(local_league, prod_league, monkeypatch):
    """The same training set on both engines, not one within a tolerance: ``0.44`` is FLOAT64 in
    BigQuery and DECIMAL in DuckDB (the local engine casts such literals to DOUBLE), and sums
    over many rows are exact (possessions and plays in integer hundredths), so no value
    depends on the order an engine adds in. (A traded player's sum over his stints still may.)"""
    got = {}
    for name, env in (("local", local_league), ("prod", prod_league)):
        use(monkeypatch, env)
        got[name] = {t.fqn: _sorted(engine.current().read(t), list(t.grain)) for t in DERIVED_TABLES}
    compared = 0
    for t in DERIVED_TABLES:
        local, prod = got["local"][t.fqn], got["prod"][t.fqn]
        for key in t.grain:
            assert local.column(key).equals(prod.column(key)), f"{t.fqn}: other rows"
        for field in local.schema:
            if pa.types.is_floating(field.type):
                a, b = local.column(field.name).to_pylist(), prod.column(field.name).to_pylist()
                differ = sum(1 for x, y in zip(a, b) if x != y and not (x != x and y != y))
                assert differ == 0, f"{t.fqn}.{field.name}: {differ} of {len(a)} values differ in their last bits"
                compared += len(a)
    assert compared > 10_000


@pytest.mark.prod
def test_a_range_transform_on_bigquery_is_idempotent(local_league, prod_league, monkeypatch, capsys):
    use(monkeypatch, prod_league)
    wh = engine.current()
    days = wh.partitions(PLAYER_GAME_SUMMARY)
    before = {t.fqn: wh.read(t) for t in DERIVED_TABLES}
    assert cli.main(["transform", "--start", str(days[10]), "--end", str(days[20])]) == 0
    assert "submitting" in capsys.readouterr().out
    for t in DERIVED_TABLES:
        _assert_same_table(t, before[t.fqn], wh.read(t))


@pytest.mark.prod
def test_nbafs_query_runs_on_bigquery_and_says_what_duckdb_sql_needs(local_league, prod_league, monkeypatch, capsys):
    sql = ("SELECT game_date, COUNT(*) AS players, ROUND(AVG(usage_rate), 6) AS usage "
           "FROM nba_analytics.player_game_summary WHERE minutes > 0 GROUP BY game_date ORDER BY game_date")
    out = {}
    for name, env in (("local", local_league), ("prod", prod_league)):
        use(monkeypatch, env)
        assert cli.main(["query", "--format", "csv", sql]) == 0
        out[name] = capsys.readouterr().out
    assert out["prod"] == out["local"] and len(out["prod"].splitlines()) > 30
    assert cli.main(["query", "--dialect", "duckdb", "SELECT 1"]) == 1
    err = capsys.readouterr().err
    assert "--dialect duckdb runs DuckDB SQL on the local warehouse only" in err and "BigQuery SQL" in err


@pytest.mark.prod
def test_verify_on_bigquery_equals_local(local_league, prod_league, monkeypatch, capsys):
    from materialize.verify import verify

    results = {}
    for name, env in (("local", local_league), ("prod", prod_league)):
        use(monkeypatch, env)
        results[name] = verify()
    assert results["prod"] == results["local"] and len(results["prod"]) > 30
    assert cli.main(["verify", "--json"]) == 0  # prod is the active profile now
    assert "all checks passed" in capsys.readouterr().err


@pytest.mark.prod
def test_serving_and_outcome_reads_on_bigquery_equal_local(local_league, prod_league, monkeypatch):
    from model.outcomes import closing_lines, slate_outcomes
    from serving.online import slate_players
    from serving.training_set import entity_rows_for_range, labels

    got = {}
    for name, env in (("local", local_league), ("prod", prod_league)):
        use(monkeypatch, env)
        days = engine.current().partitions(PLAYER_GAME_SUMMARY)
        rows = entity_rows_for_range(days[5], days[25])
        shuffled = rows.sample(frac=1.0, random_state=1)
        got[name] = {
            "rows": rows, "labels": labels(rows), "shuffled": labels(shuffled),
            "closing": closing_lines(rows), "slate": slate_players(days[26]),
            "outcomes": slate_outcomes(days[26]).sort_values(["player_lookup", "game_id"]).reset_index(drop=True),
        }
    local, prod = got["local"], got["prod"]
    assert prod["rows"].equals(local["rows"]) and len(prod["rows"]) > 500
    assert prod["labels"].equals(local["labels"])
    assert prod["shuffled"].sort_index().equals(prod["labels"])  # attached by key, whatever the order
    assert np.allclose(prod["closing"], local["closing"], equal_nan=True, rtol=0, atol=1e-9)
    assert prod["closing"].notna().sum() > 100
    assert prod["slate"].equals(local["slate"]) and len(prod["slate"]) > 20
    assert prod["outcomes"].equals(local["outcomes"])


def test_batch_plan_day_counts_equal_the_rows_per_event_day(league):
    lo = dt.datetime(2025, 11, 1, tzinfo=UTC)
    hi = dt.datetime(2025, 11, 20, 6, tzinfo=UTC)
    for table in (PLAYER_GAME_SUMMARY, UPCOMING_PLAYER_GAME_CONTEXT):
        plan = league.event_day_counts(table, "event_timestamp", lo, hi)
        exact = league.query(
            f"SELECT DATE(event_timestamp) AS day, COUNT(*) AS n FROM {table.fqn} "
            "WHERE event_timestamp >= @lo AND event_timestamp < @hi GROUP BY day",
            {"lo": lo, "hi": hi},
        ).to_pylist()
        assert plan.days == {r["day"]: r["n"] for r in exact} and sum(plan.days.values()) > 500


# --- errors -----------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.prod
def test_bigquery_not_answering_is_one_clear_message(tmp_path, monkeypatch, capsys):
    port = _closed_port()
    use(monkeypatch, {PROFILE_ENV: "prod", paths.DATA_DIR_ENV: str(tmp_path), gcp.PROJECT_ENV: "nbafs-nobody",
                         gcp.BIGQUERY_EMULATOR_ENV: f"http://127.0.0.1:{port}"})
    monkeypatch.delenv(gcp.BIGQUERY_STORAGE_EMULATOR_ENV, raising=False)
    assert cli.main(["query", "SELECT 1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"nbafs query: error: BigQuery at http://127.0.0.1:{port} (BIGQUERY_EMULATOR_HOST set) did not answer")
    assert "nbafs stack up" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.prod
def test_a_table_not_created_yet_says_what_to_run(prod_env, capsys):
    assert cli.main(["query", "SELECT COUNT(*) FROM nba_raw.schedule"]) == 1
    err = capsys.readouterr().err
    assert "nba_raw.schedule" in err and "`nbafs generate` or `nbafs import`" in err and "Traceback" not in err
    assert cli.main(["transform"]) == 1
    err = capsys.readouterr().err
    assert f"BigQuery project {prod_env[gcp.PROJECT_ENV]}" in err and "has no raw rows: run `nbafs generate`" in err


def test_transform_flags_follow_the_profile(tmp_path, monkeypatch, capsys):
    use(monkeypatch, _local_env(tmp_path))
    assert cli.main(["transform", "--profile", "bigquery"]) == 1
    assert "the profile is the environment variable NBAFS_PROFILE" in capsys.readouterr().err
    # --print-sql prints the active profile's statements; with a range it needs no warehouse at all.
    monkeypatch.setenv(PROFILE_ENV, "prod")
    monkeypatch.setenv(gcp.PROJECT_ENV, "nbafs-print-only")
    assert cli.main(["transform", "--print-sql", "--start", "2025-11-01", "--end", "2025-11-30"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("-- parameters: @start_date = DATE '2025-11-01'") and "BEGIN TRANSACTION" in out
    monkeypatch.delenv(PROFILE_ENV)
    assert cli.main(["transform", "--print-sql", "--start", "2025-11-01", "--end", "2025-11-30"]) == 0
    out = capsys.readouterr().out
    assert "BEGIN TRANSACTION" not in out and "CAST('2025-11-01' AS DATE)" in out
