"""What happened: the outcomes predictions are judged against, read from the warehouse.

Never features: these are read after the fact, for evaluation only.

- ``closing_lines(rows)``: each player-game's consensus points line at its last snapshot
  before tip-off (``nba_raw.schedule.tipoff_at``; when unknown, before the box score is
  known, 06:00 UTC the next day). A prediction is made at noon US/Eastern, but a bet is
  placed against the line on offer later that day: on the real 2025-26 data most
  snapshots were taken at 17:00:30 UTC, seconds after noon Eastern, so the line a
  feature vector may hold (``points_line``, known at the time asked) exists for about a
  third of the player-games that had one. Over/under accuracy is reported against both.
- ``bet_offers(rows, market)``: what a bettor could take at the bet snapshot, the last
  snapshot before tip-off with the market's consensus line (the same cut-off as
  ``closing_lines``; the model's features are those known at noon Eastern): the
  consensus line and no-vig over probability there (``nba_analytics.player_prop_lines``)
  and, from the books quoting exactly that line in that snapshot, the median and the
  best over and under prices, as decimal odds (model/betting.py).
- ``slate_outcomes(day)``: points and minutes of every player-game of a date.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from model.betting import decimal_odds
from warehouse.markets import Market, market as market_named

KEYS = ["player_lookup", "game_id"]

# The last snapshot a bet can be placed at: tip-off, or when unknown the moment the box
# score is known (06:00 UTC the next day). Shared by the closing line and the bet offers.
BET_CUTOFF = "COALESCE(s.tipoff_at, TIMESTAMP_ADD(TIMESTAMP(DATE_ADD(s.game_date, INTERVAL 1 DAY)), INTERVAL 6 HOUR))"

CLOSING_SQL = """
SELECT c.game_id, c.player_lookup, MAX_BY(c.points_line, c.snapshot_at) AS closing_line
FROM nba_analytics.player_points_line_consensus AS c
JOIN nba_raw.schedule AS s ON s.game_id = c.game_id
WHERE c.snapshot_at <= {cutoff}
GROUP BY c.game_id, c.player_lookup
""".format(cutoff=BET_CUTOFF)

# One row per (bet offer, book at its line); a bet offer without such a book keeps one
# row of NULL book columns. {line}, {prob}: the market's columns of player_prop_lines;
# {raw}, {raw_line}, {raw_market}: its book rows (points have a table of their own).
OFFERS_SQL = """
WITH cutoff AS (
  SELECT l.game_id, l.player_lookup, MAX(l.snapshot_at) AS bet_snapshot_at
  FROM nba_analytics.player_prop_lines AS l
  JOIN nba_raw.schedule AS s ON s.game_id = l.game_id
  WHERE l.{line} IS NOT NULL AND l.snapshot_at <= {cutoff}{dates}
  GROUP BY l.game_id, l.player_lookup
),
bet AS (
  SELECT c.game_id, c.player_lookup, c.bet_snapshot_at, l.{line} AS bet_line, l.{prob} AS market_over_prob
  FROM cutoff AS c
  JOIN nba_analytics.player_prop_lines AS l
    ON l.game_id = c.game_id AND l.player_lookup = c.player_lookup AND l.snapshot_at = c.bet_snapshot_at
)
SELECT b.game_id, b.player_lookup, b.bet_snapshot_at, b.bet_line, b.market_over_prob,
  r.bookmaker, r.over_price, r.under_price
FROM bet AS b
LEFT JOIN {raw} AS r
  ON r.game_id = b.game_id AND r.player_lookup = b.player_lookup AND r.snapshot_at = b.bet_snapshot_at
  AND r.{raw_line} = b.bet_line{raw_market}
"""
OFFER_COLUMNS = ["bet_snapshot_at", "bet_line", "market_over_prob", "consensus_over_price", "consensus_under_price",
                 "best_over_price", "best_under_price", "books_at_line"]


def closing_lines(rows: pd.DataFrame) -> pd.Series:
    """The closing consensus line per row (``player_lookup``, ``game_id``), joined on those keys; NaN when none."""
    from warehouse import engine

    found = engine.current().query(CLOSING_SQL).to_pandas()
    return pd.Series(_attach(rows, found, "closing_line").to_numpy(dtype=float), index=rows.index, name="closing_line")


def bet_offers(rows: pd.DataFrame, market: Market | str) -> pd.DataFrame:
    """The offer at the bet snapshot per row (``player_lookup``, ``game_id``), joined on those keys.

    Columns ``OFFER_COLUMNS``: the snapshot, the consensus line and no-vig over
    probability there, the median (``consensus_``) and highest (``best_``) decimal over
    and under prices of the books quoting exactly that line then, and how many they
    are. NaN (NaT) where there is no line before tip-off, no book at it or no price.
    When ``rows`` has ``game_date``, only those dates are read.
    """
    from warehouse import engine

    m = market if isinstance(market, Market) else market_named(market)
    points = m.name == "points"
    params: dict = {} if points else {"odds_api_key": m.odds_api_key}
    dates = ""
    if "game_date" in rows and len(rows) and rows["game_date"].notna().all():
        days = pd.to_datetime(rows["game_date"]).dt.date
        params.update(first_day=days.min(), last_day=days.max())
        dates = " AND l.game_date BETWEEN @first_day AND @last_day"
    sql = OFFERS_SQL.format(
        line=m.line_feature, prob=m.over_prob_feature, cutoff=BET_CUTOFF, dates=dates,
        raw="nba_raw.odds_api_player_points_props" if points else "nba_raw.odds_api_player_props",
        raw_line="points_line" if points else "line",
        raw_market="" if points else " AND r.market = @odds_api_key",
    )
    found = offer_prices(engine.current().query(sql, params).to_pandas())
    out = _attach_columns(rows, found, OFFER_COLUMNS)
    out.index = rows.index
    return out


def offer_prices(book_rows: pd.DataFrame) -> pd.DataFrame:
    """One offer per (player_lookup, game_id) from its rows of books at the line (``OFFERS_SQL``).

    American prices become decimal odds (model/betting.py); the consensus price is the
    median of the books' decimal prices (the median of American odds is not a price:
    -105 and +105 would average to 0), the best price the highest; each side counts the
    books that price it, ``books_at_line`` the books quoting the line at all.
    """
    b = book_rows.copy()
    for side in ("over", "under"):
        b[f"{side}_decimal"] = decimal_odds(b[f"{side}_price"].to_numpy(dtype=float))
    grouped = b.groupby(KEYS, sort=False)
    out = grouped.agg(
        bet_snapshot_at=("bet_snapshot_at", "first"),
        bet_line=("bet_line", "first"),
        market_over_prob=("market_over_prob", "first"),
        consensus_over_price=("over_decimal", "median"),
        consensus_under_price=("under_decimal", "median"),
        best_over_price=("over_decimal", "max"),
        best_under_price=("under_decimal", "max"),
        books_at_line=("bookmaker", "nunique"),
    ).reset_index()
    out["books_at_line"] = out["books_at_line"].astype(float).where(out["books_at_line"] > 0, np.nan)
    out["bet_snapshot_at"] = pd.to_datetime(out["bet_snapshot_at"], utc=True)
    return out


def slate_outcomes(day: dt.date) -> pd.DataFrame:
    """player_lookup, game_id, minutes and every market's stat (``warehouse.markets``: points,
    rebounds, assists, threes_made, pra; NULL when a part is) for every box score row of ``day``."""
    from warehouse import engine
    from warehouse.markets import MARKETS
    from warehouse.schema import PLAYER_GAME_SUMMARY

    parts = sorted({c for m in MARKETS for c in m.box_score})
    table = engine.current().read(PLAYER_GAME_SUMMARY, day, day, columns=["player_lookup", "game_id", "minutes", *parts])
    frame = table.to_pandas()
    for m in MARKETS:
        if m.stat not in frame:
            frame[m.stat] = frame[list(m.box_score)].sum(axis=1, min_count=len(m.box_score)).where(
                frame[list(m.box_score)].notna().all(axis=1))
    return frame


def _attach(rows: pd.DataFrame, found: pd.DataFrame, column: str) -> pd.Series:
    """``found[column]`` for each row of ``rows``, by (player_lookup, game_id), never by position."""
    return _attach_columns(rows, found, [column])[column]


def _attach_columns(rows: pd.DataFrame, found: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``found[columns]`` for each row of ``rows`` (in its order), by (player_lookup, game_id), never by position."""
    wanted = pd.DataFrame({k: rows[k].astype(str).to_numpy() for k in KEYS})
    found = found.astype({k: str for k in KEYS})
    return wanted.merge(found[[*KEYS, *columns]], on=KEYS, how="left", validate="many_to_one")[columns]
