"""NBA.com player game logs: recognized, validated, and used to cross-check RealGM rows.

Choice: these logs write nothing to the warehouse. They have no FGM/FGA and an empty
TOV, so a row taken from them could never carry a usage rate; adding such rows for
players who played would break "usage_rate is non-null for every player-game with
minutes > 0" downstream, and filling FGA/TOV with 0 would be a silent default. What
they are good for is an independent check of the RealGM box scores, which carry no ids:

- rows join on (``game_id``, team, ``player_lookup``): the NBA.com ``GAME_ID`` against the
  game id RealGM rows got from the schedule, and names through the alias map of
  ``warehouse.names`` (the check tells when that map misses a variant);
- reported: the share of NBA.com rows that join a RealGM row, the NBA.com rows RealGM
  lacks (the players RealGM does not list: why summed player points can fall short
  of team totals), and rows whose points disagree or whose minutes differ by more than
  one (NBA.com rounds minutes to whole numbers).

The RealGM rows come from the same run, else from the warehouse; with neither the file
has nothing to check and the import stops with a message saying so. Only the regular
season is checked (``GAME_ID`` 225xxxxx, written without leading zeros in this file).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from warehouse import schema
from warehouse.importers.common import (
    FIX_THE_FILE, NOTHING_WRITTEN, FileReport, Format, ImportError_, check,
    duplicates, nbacom_regular_season, parse_counts, parse_minutes,
)
from warehouse.names import player_lookups

FORMAT = Format(
    key="nbacom_player_logs",
    label="NBA.com player game logs (cross-check of RealGM)",
    required=("PLAYER_NAME", "GAME_ID", "GAME_DATE", "TEAM_ABBREVIATION", "MIN", "PTS"),
    order=2,
)

MINUTES_TOLERANCE = 1.0  # NBA.com writes whole minutes




def realgm_rows(run, path: Path) -> pd.DataFrame:
    rows = run.staged_frame(schema.BDL_PLAYER_BOXSCORES)
    if rows is None:
        rows = run.existing(schema.BDL_PLAYER_BOXSCORES)
    rows = rows[rows["source"] == "realgm"] if len(rows) else rows
    if rows.empty:
        raise ImportError_(
            f"{path}: NBA.com player logs only cross-check the RealGM box scores (they lack FGA "
            f"and TOV, so they cannot carry usage rate), and there are no RealGM rows to check. "
            f"Import the RealGM player game logs first (or together, e.g. `nbafs import FOLDER`); "
            f"{NOTHING_WRITTEN}."
        )
    return rows


def load(path: Path, rows: pd.DataFrame, run) -> FileReport:
    report = FileReport(path, FORMAT, rows_read=len(rows))
    nba = nbacom_regular_season(path, rows, report, ["PLAYER_NAME", "MIN"])
    rows = nba.rows
    df = pd.DataFrame({
        "game_id": nba.game_id,
        "game_date": nba.game_date,
        "team_abbr": nba.team_abbr,
        "player_lookup": player_lookups(rows["PLAYER_NAME"].str.strip()),
        "minutes": parse_minutes(path, rows["MIN"], "MIN"),
    }, index=rows.index).join(parse_counts(path, rows, {"PTS": "points"}))
    check(path, df["player_lookup"].isna(), rows["PLAYER_NAME"], "PLAYER_NAME",
          "a player name with letters", FIX_THE_FILE)
    duplicates(path, df, ["game_id", "player_lookup"], ["GAME_ID", "player"], "player-game")

    realgm = realgm_rows(run, path)[["game_id", "team_abbr", "player_lookup", "minutes", "points"]]
    realgm = realgm[realgm["game_id"].isin(set(df["game_id"]))]
    both = df.reset_index().merge(realgm, on=["game_id", "team_abbr", "player_lookup"], how="outer",
                                  suffixes=("", "_realgm"), indicator=True)
    joined = both["_merge"] == "both"
    only_nbacom = both[both["_merge"] == "left_only"]
    only_realgm = both[both["_merge"] == "right_only"]
    pts_differ = joined & both["points"].notna() & both["points_realgm"].notna() & (both["points"] != both["points_realgm"])
    min_differ = joined & ((both["minutes"] - both["minutes_realgm"]).abs() > MINUTES_TOLERANCE)

    report.rows_kept = len(df)
    rate = float(joined.sum()) / len(df) if len(df) else 0.0
    report.figures.update({
        "join_rate": rate, "joined": int(joined.sum()),
        "nbacom_only": len(only_nbacom), "nbacom_only_played": int((only_nbacom["minutes"] > 0).sum()),
        "realgm_only": len(only_realgm), "points_differ": int(pts_differ.sum()),
        "minutes_differ": int(min_differ.sum()),
    })
    report.notes.append(
        f"written nowhere (no FGA/TOV): {joined.sum():,} of {len(df):,} rows ({rate:.2%}) join a RealGM row "
        f"on game, team and player; points differ in {int(pts_differ.sum()):,}, minutes by more than "
        f"{MINUTES_TOLERANCE:g} in {int(min_differ.sum()):,}"
    )
    if len(only_nbacom):
        names = only_nbacom.groupby("player_lookup").size().sort_values(ascending=False)
        report.notes.append(
            f"{len(only_nbacom):,} NBA.com rows ({int((only_nbacom['minutes'] > 0).sum()):,} with minutes) "
            f"have no RealGM row, e.g. {', '.join(names.index[:5])}; if one is a spelling variant, "
            f"add it to warehouse/names.py ALIASES"
        )
    if len(only_realgm):
        report.notes.append(f"{len(only_realgm):,} RealGM rows of these games have no NBA.com row")
    return report
