"""Bad and awkward input files for ``nbafs import``, built from scratch in each test.

Protects: every bad file stops the import with a message that names the file, the line
or column, what was expected and what to do, and the warehouse is left exactly as it
was (a bad file writes nothing, nor do the good files of the same run). Awkward but
valid input (repeated identical rows, missing points, alternate betting lines, matchups
written from the opponent's side) is imported with honest values and counted.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from nbafs.errors import UserError
from warehouse import schema, storage
from warehouse.importers import import_paths
from warehouse.importers.detect import UnknownFormatError
from warehouse.validate import ValidationError

TEAM_COLUMNS = ["SEASON_ID", "TEAM_ABBREVIATION", "TEAM_NAME", "GAME_ID", "GAME_DATE", "MATCHUP",
                "MIN", "PTS", "FGM", "FGA", "FTM", "FTA", "OREB", "DREB", "TOV"]
REALGM_COLUMNS = ["Player", "Date", "Team", "Opponent", "MIN", "PTS", "FGM", "FGA", "3PM", "3PA",
                  "FTM", "FTA", "ORB", "DRB", "REB", "AST", "STL", "BLK", "TOV", "PF"]
NBACOM_PLAYER_COLUMNS = ["PLAYER_ID", "PLAYER_NAME", "GAME_ID", "GAME_DATE", "TEAM_ABBREVIATION",
                         "MATCHUP", "MIN", "PTS", "TOV"]
ODDS_COLUMNS = ["snapshot_file", "event_id", "player", "market", "line", "bookmaker", "game",
                "game_time", "over_odds", "under_odds"]

# (game id, date, away, home)
GAMES = [("0022500001", "2025-10-21", "HOU", "OKC"), ("0022500002", "2025-10-21", "GSW", "LAL"),
         ("0022500003", "2025-10-22", "LAL", "OKC")]
FULL = {"HOU": "Houston Rockets", "OKC": "Oklahoma City Thunder", "GSW": "Golden State Warriors",
        "LAL": "Los Angeles Lakers"}
NICK = {"HOU": "Rockets", "OKC": "Thunder", "GSW": "Warriors", "LAL": "Lakers"}
PLAYERS = {"HOU": ["Kevin Durant", "Alperen Sengun"], "OKC": ["Shai Gilgeous-Alexander", "Chet Holmgren"],
           "GSW": ["Stephen Curry", "Jimmy Butler III"], "LAL": ["Luka Dončić", "Austin Reaves"]}


def team_rows() -> list[dict]:
    rows = []
    for gid, day, away, home in GAMES:
        for team, opp, home_side in ((away, home, False), (home, away, True)):
            rows.append({
                "SEASON_ID": "22025", "TEAM_ABBREVIATION": team, "TEAM_NAME": FULL[team], "GAME_ID": gid,
                "GAME_DATE": day, "MATCHUP": f"{team} vs. {opp}" if home_side else f"{team} @ {opp}",
                "MIN": "240", "PTS": "110", "FGM": "40", "FGA": "88", "FTM": "18", "FTA": "22",
                "OREB": "10", "DREB": "33", "TOV": "13",
            })
    # a preseason game, dropped
    rows += [dict(rows[0], GAME_ID="0012500001", GAME_DATE="2025-10-10"),
             dict(rows[1], GAME_ID="0012500001", GAME_DATE="2025-10-10")]
    return rows


def realgm_rows() -> list[dict]:
    rows = []
    for gid, day, away, home in GAMES:
        y, m, d = day.split("-")
        for team, opp in ((away, home), (home, away)):
            for i, player in enumerate(PLAYERS[team]):
                rows.append({
                    "Player": player, "Date": f"{int(m)}/{int(d)}/{y}", "Team": NICK[team], "Opponent": NICK[opp],
                    "MIN": f"{30 + i}:{15 + i:02d}", "PTS": str(20 + i), "FGM": "8", "FGA": "16", "3PM": "2",
                    "3PA": "5", "FTM": str(2 + i), "FTA": "4", "ORB": "1", "DRB": "5", "REB": "6", "AST": "4",
                    "STL": "1", "BLK": "0", "TOV": "2", "PF": "3",
                })
    # a college row (city names are schools, not NBA teams), dropped
    rows.append(dict(rows[0], Player="A. Freshman", Team="Houston", Opponent="Arizona"))
    return rows


def nbacom_player_rows() -> list[dict]:
    out = []
    for r in realgm_rows()[:-1]:
        team = next(k for k, v in NICK.items() if v == r["Team"])
        gid = next(g for g, day, a, h in GAMES if team in (a, h) and _us(day) == r["Date"])
        out.append({"PLAYER_ID": "1", "PLAYER_NAME": r["Player"], "GAME_ID": str(int(gid)),
                    "GAME_DATE": next(day for g, day, a, h in GAMES if g == gid), "TEAM_ABBREVIATION": team,
                    "MATCHUP": "x", "MIN": r["MIN"].split(":")[0], "PTS": r["PTS"], "TOV": ""})
    return out


def odds_rows() -> list[dict]:
    gid, day, away, home = GAMES[0]
    base = {"snapshot_file": "raw_20251021_170000.csv", "event_id": "e1", "market": "player_points",
            "game": f"{FULL[away]} @ {FULL[home]}", "game_time": "2025-10-21T23:35:00Z"}
    return [
        dict(base, player="Shai Gilgeous-Alexander", line="32.5", bookmaker="draftkings", over_odds="-114", under_odds="-112"),
        dict(base, player="Kevin Durant", line="23.5", bookmaker="draftkings", over_odds="-119", under_odds="-107"),
        # alternate lines at one book: the balanced one (24.5) is the main line
        dict(base, player="Kevin Durant", line="22.5", bookmaker="bovada", over_odds="-160", under_odds="+120"),
        dict(base, player="Kevin Durant", line="24.5", bookmaker="bovada", over_odds="-110", under_odds="-110"),
        dict(base, player="Kevin Durant", line="26.5", bookmaker="bovada", over_odds="+150", under_odds="-200"),
        dict(base, player="Chet Holmgren", line="16.5", bookmaker="draftkings", over_odds="-105", under_odds="-121",
             market="player_rebounds"),
    ]


def _us(day: str) -> str:
    y, m, d = day.split("-")
    return f"{int(m)}/{int(d)}/{y}"


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> Path:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    src = tmp_path / "src"
    src.mkdir()
    return {
        "teams": write_csv(src / "teams.csv", TEAM_COLUMNS, team_rows()),
        "realgm": write_csv(src / "realgm.csv", REALGM_COLUMNS, realgm_rows()),
        "nbacom": write_csv(src / "nbacom_players.csv", NBACOM_PLAYER_COLUMNS, nbacom_player_rows()),
        "odds": write_csv(src / "odds.csv.gz", ODDS_COLUMNS, odds_rows()),
    }


def warehouse_state(data_dir: Path) -> dict[str, str]:
    root = data_dir / "warehouse"
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def imported(data_dir, files) -> dict[str, str]:
    """The small season imported once; returns the warehouse state to compare against."""
    import_paths(list(files.values()), progress=None)
    state = warehouse_state(data_dir)
    assert state, "the baseline import wrote nothing"
    return state


def bad_import(data_dir, before, *paths, error=ValidationError) -> str:
    with pytest.raises(error) as exc:
        import_paths(list(paths), progress=None)
    assert warehouse_state(data_dir) == before, "a failed import changed the warehouse"
    message = str(exc.value)
    assert "nothing was written" in message
    return message


# --- the baseline is sound (otherwise the failures below prove nothing) -------------------

def test_small_season_imports_with_ids_home_away_and_lines(data_dir, imported):
    con = storage.connect()
    assert con.execute("select count(*) from nba_raw.schedule").fetchone()[0] == 3
    assert con.execute("select count(*) from nba_raw.team_boxscores").fetchone()[0] == 6
    rows = con.execute(
        "select game_id, team_abbr, opponent_team_abbr, minutes from nba_raw.bdl_player_boxscores "
        "where player_lookup = 'lukadoncic' order by game_id").fetchall()
    assert rows == [("0022500002", "LAL", "GSW", 30.25), ("0022500003", "LAL", "OKC", 30.25)]
    assert con.execute("select home_team_abbr, tipoff_at is not null from nba_raw.schedule "
                       "where game_id = '0022500001'").fetchone() == ("OKC", True)
    lines = con.execute("select bookmaker, points_line from nba_raw.odds_api_player_points_props "
                        "where player_lookup = 'kevindurant' order by bookmaker").fetchall()
    assert lines == [("bovada", 24.5), ("draftkings", 23.5)]


# --- missing or renamed columns -----------------------------------------------------------

def test_lines_file_with_scraped_at_instead_of_snapshot_file_is_named(data_dir, imported, tmp_path):
    rows = [{("scraped_at" if k == "snapshot_file" else k): v for k, v in r.items()} for r in odds_rows()]
    path = write_csv(tmp_path / "lines.csv", [("scraped_at" if c == "snapshot_file" else c) for c in ODDS_COLUMNS], rows)
    message = bad_import(data_dir, imported, path, error=UnknownFormatError)
    assert str(path) in message
    assert "Odds API player props" in message
    assert "'snapshot_file' (closest present column: 'scraped_at')" in message


def test_realgm_file_missing_a_column_names_it(data_dir, imported, tmp_path):
    path = write_csv(tmp_path / "realgm.csv", [c for c in REALGM_COLUMNS if c != "TOV"], realgm_rows())
    message = bad_import(data_dir, imported, path, error=UnknownFormatError)
    assert str(path) in message and "RealGM player game logs" in message and "'TOV'" in message


def test_file_in_a_folder_matching_no_format_is_skipped_but_named_file_fails(data_dir, files, tmp_path):
    other = write_csv(files["teams"].parent / "season_totals.csv", ["Player", "G", "USG%"], [{"Player": "x"}])
    report = import_paths([files["teams"].parent], progress=None)
    assert [p for p, _ in report.skipped] == [other]
    with pytest.raises(UnknownFormatError, match="season_totals.csv"):
        import_paths([other], progress=None)


# --- unparsable values --------------------------------------------------------------------

def test_unparsable_realgm_date_names_line_column_and_format(data_dir, imported, files):
    rows = realgm_rows()
    rows[3]["Date"] = "2025-10-21"
    write_csv(files["realgm"], REALGM_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["realgm"])
    assert f"{files['realgm']}: line 5, column 'Date'" in message
    assert "M/D/YYYY" in message and "'2025-10-21'" in message


def test_unparsable_team_log_date_stops_the_whole_run(data_dir, files):
    rows = team_rows()
    rows[2]["GAME_DATE"] = "Oct 21 2025"
    write_csv(files["teams"], TEAM_COLUMNS, rows)
    message = bad_import(data_dir, {}, *files.values())
    assert "line 4, column 'GAME_DATE'" in message and "YYYY-MM-DD" in message


def test_unparsable_minutes_name_line_and_expected_form(data_dir, imported, files):
    rows = realgm_rows()
    rows[0]["MIN"] = "3o:15"
    write_csv(files["realgm"], REALGM_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["teams"], files["realgm"])
    assert "line 2, column 'MIN'" in message and '"mm:ss"' in message and "'3o:15'" in message


def test_unparsable_snapshot_file_name(data_dir, imported, files):
    rows = odds_rows()
    rows[1]["snapshot_file"] = "snapshot.csv"
    write_csv(files["odds"], ODDS_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["odds"])
    assert "line 3, column 'snapshot_file'" in message and "raw_YYYYMMDD_HHMMSS" in message


def test_unknown_team_in_lines_names_the_value(data_dir, imported, files):
    rows = odds_rows()
    rows[0]["game"] = "Houston Rockets @ Oklahoma City Thunders"
    write_csv(files["odds"], ODDS_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["odds"])
    assert "line 2, column 'game'" in message and "after ' @ '" in message


# --- negative counts ----------------------------------------------------------------------

def test_negative_points_in_player_logs(data_dir, imported, files):
    rows = realgm_rows()
    rows[6]["PTS"] = "-3"
    write_csv(files["realgm"], REALGM_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["realgm"])
    assert "line 8, column 'PTS'" in message and ">= 0" in message and "'-3'" in message


def test_negative_turnovers_in_team_logs(data_dir, imported, files):
    rows = team_rows()
    rows[1]["TOV"] = "-1"
    write_csv(files["teams"], TEAM_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["teams"])
    assert "line 3, column 'TOV'" in message and ">= 0" in message


# --- duplicates and incomplete games -------------------------------------------------------

def test_duplicate_player_game_with_different_stats(data_dir, imported, files):
    rows = realgm_rows()
    rows.insert(2, dict(rows[0], PTS="31", FGM="12"))
    write_csv(files["realgm"], REALGM_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["realgm"])
    assert "lines 2, 4" in message and "player-game" in message and "remove the duplicate" in message


def test_duplicate_player_game_in_nbacom_logs(data_dir, imported, files):
    rows = nbacom_player_rows()
    rows.append(dict(rows[0], PTS="0"))
    write_csv(files["nbacom"], NBACOM_PLAYER_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["nbacom"])
    assert str(files["nbacom"]) in message and "player-game" in message


def test_game_with_one_team_row(data_dir, imported, files):
    rows = team_rows()
    del rows[3]  # LAL's row of game 0022500002
    write_csv(files["teams"], TEAM_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["teams"])
    assert "game 0022500002 has only one team row (GSW)" in message and "line 4" in message
    assert "add the missing row" in message


def test_game_with_two_home_rows(data_dir, imported, files):
    rows = team_rows()
    rows[0]["MATCHUP"] = "HOU vs. OKC"
    write_csv(files["teams"], TEAM_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["teams"])
    assert "game 0022500001" in message and "exactly one home row" in message


# --- order of imports ---------------------------------------------------------------------

def test_player_logs_alone_need_the_schedule(data_dir, files):
    with pytest.raises(UserError, match="import the NBA.com team game logs first: they define game ids"):
        import_paths([files["realgm"]], progress=None)
    assert warehouse_state(data_dir) == {}


def test_nbacom_player_logs_alone_have_nothing_to_check(data_dir, files):
    import_paths([files["teams"]], progress=None)
    before = warehouse_state(data_dir)
    message = bad_import(data_dir, before, files["nbacom"])
    assert "Import the RealGM player game logs first" in message


def test_player_logs_attach_to_the_schedule_already_in_the_warehouse(data_dir, files):
    import_paths([files["teams"]], progress=None)
    report = import_paths([files["realgm"]], progress=None)
    assert report.files[0].rows_kept == 12
    assert len(storage.read_table(schema.BDL_PLAYER_BOXSCORES)) == 12


# --- awkward but valid input ----------------------------------------------------------------

def test_identical_repeated_rows_are_dropped_and_counted(data_dir, files):
    rows = realgm_rows()
    rows.append(dict(rows[0]))  # the same row again (RealGM lists a few players twice)
    write_csv(files["realgm"], REALGM_COLUMNS, rows)
    report = import_paths([files["teams"], files["realgm"]], progress=None)
    realgm = report.file("realgm_player_logs")
    assert realgm.rows_kept == 12
    assert sum(n for why, n in realgm.dropped.items() if why.startswith("repeated")) == 1


def test_missing_points_stay_null_and_dnp_keeps_zero_minutes(data_dir, files):
    rows = realgm_rows()
    rows[0]["PTS"] = ""
    rows[1].update({k: "0" for k in REALGM_COLUMNS[5:]}, MIN="0:00")
    write_csv(files["realgm"], REALGM_COLUMNS, rows)
    import_paths([files["teams"], files["realgm"]], progress=None)
    got = storage.read_table(schema.BDL_PLAYER_BOXSCORES).to_pandas().set_index(["game_id", "player_lookup"])
    assert pd.isna(got.loc[("0022500001", "kevindurant"), "points"])
    assert got.loc[("0022500001", "alperensengun"), "minutes"] == 0.0


def test_player_who_played_without_fga_is_refused(data_dir, imported, files):
    rows = realgm_rows()
    rows[2]["FGA"] = ""
    write_csv(files["realgm"], REALGM_COLUMNS, rows)
    message = bad_import(data_dir, imported, files["realgm"])
    assert "line 4, column 'FGA'" in message and "usage rate" in message


def test_matchup_written_from_the_opponents_side(data_dir, files):
    rows = team_rows()
    rows[1]["MATCHUP"] = "HOU @ OKC"  # OKC's row, written as the game's matchup
    write_csv(files["teams"], TEAM_COLUMNS, rows)
    import_paths([files["teams"]], progress=None)
    t = storage.read_table(schema.TEAM_BOXSCORES).to_pandas().set_index(["game_id", "team_abbr"])
    assert bool(t.loc[("0022500001", "OKC"), "is_home"]) and not bool(t.loc[("0022500001", "HOU"), "is_home"])
    assert t.loc[("0022500001", "OKC"), "opponent_team_abbr"] == "HOU"


def test_lines_of_other_snapshots_are_kept_when_a_new_snapshot_is_imported(data_dir, imported, files, tmp_path):
    later = [dict(r, snapshot_file="raw_20251021_200000.csv", line=str(float(r["line"]) + 1)) for r in odds_rows()]
    path = write_csv(tmp_path / "later.csv", ODDS_COLUMNS, later)
    import_paths([path], progress=None)
    import_paths([path], progress=None)  # twice: no duplicate rows
    lines = storage.read_table(schema.ODDS_API_PLAYER_POINTS_PROPS).to_pandas()
    assert sorted(lines.groupby("snapshot_at").size().tolist()) == [3, 3]
