"""Importing the real 2025-26 season (../shared/data/nba_2025_26; skipped when absent).

Protects: the whole folder imports into the raw tables with every regular-season game
(1,230 games, 2,460 team rows), the RealGM player rows attach to those games, the
betting lines map to games, the name aliases join the NBA.com player logs to RealGM,
``created_at`` is when each row became known (not the import time), and importing the
same folder again changes nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import pytest

from nbafs import paths
from warehouse import schema, storage
from warehouse.importers import import_paths
from warehouse.names import normalize, player_lookups

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def season(real_data, tmp_path_factory):
    """The real folder imported once into a store of this module; yields the report."""
    with pytest.MonkeyPatch.context() as mp:
        store = tmp_path_factory.mktemp("real") / "data"
        mp.setenv(paths.DATA_DIR_ENV, str(store))
        report = import_paths([real_data], progress=None)
        report.store = store
        yield report


def query(sql: str) -> pd.DataFrame:
    return storage.connect().execute(sql).df()


def hashes() -> dict[str, str]:
    root = paths.warehouse_dir()
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.parquet"))}


def test_every_regular_season_game_and_team_row(season):
    games = query("select * from nba_raw.schedule")
    teams = query("select * from nba_raw.team_boxscores")
    assert len(games) == games["game_id"].nunique() == 1230
    assert len(teams) == 2460
    assert games["game_id"].str.fullmatch(r"00225\d{5}").all()
    assert teams.groupby("game_id")["is_home"].sum().eq(1).all()
    assert teams.groupby("team_abbr").size().eq(82).all()
    dates = pd.to_datetime(games["game_date"]).dt.date
    assert (dates.min(), dates.max()) == (dt.date(2025, 10, 21), dt.date(2026, 4, 12))
    # the NBA Cup final (2025-12-16) is not a regular-season game
    assert not (dates == dt.date(2025, 12, 16)).any()


def test_player_rows_attach_to_team_games(season):
    players = query("select * from nba_raw.bdl_player_boxscores")
    assert 26_500 <= len(players) <= 26_600
    assert players["player_lookup"].nunique() >= 560
    assert players["game_id"].nunique() == 1230
    orphans = query(
        "select count(*) n from nba_raw.bdl_player_boxscores p left join nba_raw.team_boxscores t "
        "using (game_id, team_abbr) where t.game_id is null or t.opponent_team_abbr <> p.opponent_team_abbr "
        "or t.game_date <> p.game_date"
    )["n"][0]
    assert orphans == 0


def test_every_player_who_played_has_the_usage_inputs(season):
    missing = query(
        "select count(*) n from nba_raw.bdl_player_boxscores "
        "where minutes > 0 and (fga is null or fta is null or turnovers is null)"
    )["n"][0]
    assert missing == 0
    assert (query("select minutes from nba_raw.bdl_player_boxscores")["minutes"] >= 0).all()


def test_lines_map_to_games_of_their_date_range(season):
    lines = query(
        "select o.*, s.game_date as schedule_date, s.tipoff_at from nba_raw.odds_api_player_points_props o "
        "left join nba_raw.schedule s using (game_id)"
    )
    assert len(lines) > 0 and lines["schedule_date"].notna().all()
    assert (lines["game_date"] == lines["schedule_date"]).all()
    dates = pd.to_datetime(lines["game_date"]).dt.date
    assert (dates.min(), dates.max()) == (dt.date(2025, 10, 21), dt.date(2025, 12, 6))
    assert lines["game_id"].nunique() == 347
    assert lines[["game_id", "player_lookup"]].drop_duplicates().shape[0] == 5105
    # one line per book and snapshot (alternate lines reduced to the main one), known from its snapshot
    assert not lines.duplicated(["game_id", "player_lookup", "bookmaker", "snapshot_at"]).any()
    assert (lines["created_at"] == lines["snapshot_at"]).all()
    assert (lines["snapshot_at"] < lines["tipoff_at"]).all()


def test_created_at_is_when_rows_became_known(season):
    box = query("select game_date, created_at from nba_raw.bdl_player_boxscores")
    known = pd.to_datetime(box["game_date"]).dt.tz_localize("UTC") + pd.Timedelta(hours=30)
    assert (box["created_at"] == known).all()
    sched = query("select min(created_at) first, max(created_at) last, min(game_date) d from nba_raw.schedule")
    assert sched["last"][0] < pd.Timestamp(sched["d"][0], tz="UTC")


def test_alias_map_joins_nbacom_player_logs_to_realgm(season, real_data):
    assert season.file("nbacom_player_logs").figures["join_rate"] > 0.99
    # Checked independently: NBA.com regular-season rows joined on (game, team, player_lookup).
    nbacom = pd.read_csv(real_data / "nbacom_player_game_logs.csv", dtype={"GAME_ID": str})
    nbacom = nbacom[nbacom["GAME_ID"].str.zfill(10).str.startswith("00225")]
    keys = pd.DataFrame({"game_id": nbacom["GAME_ID"].str.zfill(10), "team_abbr": nbacom["TEAM_ABBREVIATION"],
                         "player_lookup": player_lookups(nbacom["PLAYER_NAME"])})
    box = query("select game_id, team_abbr, player_lookup from nba_raw.bdl_player_boxscores")
    joined = keys.merge(box, how="outer", indicator=True)
    assert (joined["_merge"] == "both").sum() / len(keys) > 0.99
    # every RealGM row found its NBA.com row, so the NBA.com rows left over are games
    # RealGM lacks, not spelling variants of a RealGM name
    assert (joined["_merge"] == "right_only").sum() == 0
    # and the aliases are what makes the variants join (RealGM writes "James Huff")
    assert normalize("James Huff") != normalize("Jay Huff")
    assert (box["player_lookup"] == "jayhuff").sum() > 50


def test_importing_the_folder_again_changes_nothing(season, real_data):
    before = hashes()
    assert before
    import_paths([real_data], progress=None)
    assert hashes() == before


def test_player_logs_imported_after_the_team_logs_give_the_same_rows(season, real_data, data_dir):
    folder = pd.read_parquet(season.store / "warehouse" / "nba_raw" / "bdl_player_boxscores")
    folder = folder.sort_values(["game_id", "player_lookup"]).reset_index(drop=True)
    assert paths.data_dir() == data_dir != season.store
    import_paths([real_data / "nbacom_team_game_logs.csv"], progress=None)
    import_paths([real_data / "realgm_player_game_logs.csv"], progress=None)
    alone = storage.read_table(schema.BDL_PLAYER_BOXSCORES).to_pandas()
    alone = alone.sort_values(["game_id", "player_lookup"]).reset_index(drop=True)
    assert len(alone) == len(folder)
    assert alone["game_id"].tolist() == folder["game_id"].tolist()
    assert alone["points"].fillna(-1).tolist() == folder["points"].fillna(-1).tolist()
