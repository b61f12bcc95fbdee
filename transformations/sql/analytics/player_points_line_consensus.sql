-- nba_analytics.player_points_line_consensus
--
-- Grain: one row per player, game and snapshot (game_id, player_lookup, snapshot_at),
--        for the games dated @start_date .. @end_date.
-- Reads: nba_raw.odds_api_player_points_props  one row per player, game, book, snapshot
--
-- points_line: the median of the books' lines at that snapshot (each book quoting the
--   player in that snapshot counts once; with an even count the median is the mean of
--   the two middle lines). A book missing from a snapshot is not carried over from an
--   earlier one: a stale line is not a line on offer.
-- books_count: the number of books quoting the player at that snapshot.
-- event_timestamp: the snapshot time: the line is known from then.
-- created_at: the latest created_at of the book rows used (not the run's clock: see
--   player_game_summary.sql).

WITH lines AS (
  SELECT
    game_id,
    game_date,
    player_lookup,
    snapshot_at,
    bookmaker,
    created_at,
    PERCENTILE_CONT(points_line, 0.5) OVER (
      PARTITION BY game_id, player_lookup, snapshot_at
    ) AS median_line
  FROM nba_raw.odds_api_player_points_props
  WHERE game_date BETWEEN @start_date AND @end_date
)

SELECT
  game_id,
  game_date,
  player_lookup,
  snapshot_at,
  median_line AS points_line,
  COUNT(DISTINCT bookmaker) AS books_count,
  snapshot_at AS event_timestamp,
  MAX(created_at) AS created_at
FROM lines
GROUP BY game_id, game_date, player_lookup, snapshot_at, median_line
