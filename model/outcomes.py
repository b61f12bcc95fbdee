"""What happened: the outcomes predictions are judged against, read from the warehouse.

Never features: these are read after the fact, for evaluation only.

- ``closing_lines(rows)``: each player-game's consensus points line at its last snapshot
  before tip-off (``nba_raw.schedule.tipoff_at``; when unknown, before the box score is
  known, 06:00 UTC the next day). A prediction is made at noon US/Eastern, but a bet is
  placed against the line on offer later that day: on the real 2025-26 data most
  snapshots were taken at 17:00:30 UTC, seconds after noon Eastern, so the line a
  feature vector may hold (``points_line``, known at the time asked) exists for about a
  third of the player-games that had one. Over/under accuracy is reported against both.
- ``slate_outcomes(day)``: points and minutes of every player-game of a date.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa


def closing_lines(rows: pd.DataFrame) -> pd.Series:
    """The closing consensus line per row (``player_lookup``, ``game_id``); NaN when none."""
    from warehouse import storage

    con = storage.connect()
    try:
        con.register("__rows", pa.table({
            "__i": pa.array(range(len(rows)), pa.int64()),
            "player_lookup": pa.array(rows["player_lookup"].astype(str).tolist(), pa.string()),
            "game_id": pa.array(rows["game_id"].astype(str).tolist(), pa.string()),
        }))
        got = con.sql("""
            WITH closing AS (
              SELECT c.game_id, c.player_lookup,
                     arg_max(c.points_line, c.snapshot_at) AS closing_line
              FROM nba_analytics.player_points_line_consensus c
              JOIN nba_raw.schedule s USING (game_id)
              WHERE c.snapshot_at <= COALESCE(s.tipoff_at, (s.game_date + 1)::TIMESTAMP + INTERVAL 6 HOUR)
              GROUP BY c.game_id, c.player_lookup
            )
            SELECT r.__i, closing.closing_line
            FROM __rows r LEFT JOIN closing USING (game_id, player_lookup)
            ORDER BY r.__i
        """).df()
    finally:
        con.close()
    return pd.Series(got["closing_line"].to_numpy(dtype=float), index=rows.index, name="closing_line")


def slate_outcomes(day: dt.date) -> pd.DataFrame:
    """player_lookup, game_id, points, minutes for every box score row of ``day``."""
    from warehouse import storage

    con = storage.connect()
    try:
        return con.execute(
            "SELECT player_lookup, game_id, points, minutes FROM nba_analytics.player_game_summary WHERE game_date = ?",
            [day],
        ).df()
    finally:
        con.close()
