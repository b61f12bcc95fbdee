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

KEYS = ["player_lookup", "game_id"]

CLOSING_SQL = """
SELECT c.game_id, c.player_lookup, MAX_BY(c.points_line, c.snapshot_at) AS closing_line
FROM nba_analytics.player_points_line_consensus AS c
JOIN nba_raw.schedule AS s ON s.game_id = c.game_id
WHERE c.snapshot_at <= COALESCE(
  s.tipoff_at, TIMESTAMP_ADD(TIMESTAMP(DATE_ADD(s.game_date, INTERVAL 1 DAY)), INTERVAL 6 HOUR))
GROUP BY c.game_id, c.player_lookup
"""


def closing_lines(rows: pd.DataFrame) -> pd.Series:
    """The closing consensus line per row (``player_lookup``, ``game_id``), joined on those keys; NaN when none."""
    from warehouse import engine

    found = engine.current().query(CLOSING_SQL).to_pandas()
    return pd.Series(_attach(rows, found, "closing_line").to_numpy(dtype=float), index=rows.index, name="closing_line")


def slate_outcomes(day: dt.date) -> pd.DataFrame:
    """player_lookup, game_id, points, minutes for every box score row of ``day``."""
    from warehouse import engine
    from warehouse.schema import PLAYER_GAME_SUMMARY

    table = engine.current().read(PLAYER_GAME_SUMMARY, day, day, columns=["player_lookup", "game_id", "points", "minutes"])
    return table.to_pandas()


def _attach(rows: pd.DataFrame, found: pd.DataFrame, column: str) -> pd.Series:
    """``found[column]`` for each row of ``rows``, by (player_lookup, game_id), never by position."""
    wanted = pd.DataFrame({k: rows[k].astype(str).to_numpy() for k in KEYS})
    found = found.astype({k: str for k in KEYS})
    return wanted.merge(found[[*KEYS, column]], on=KEYS, how="left", validate="many_to_one")[column]
