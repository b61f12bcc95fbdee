-- nba_analytics.player_prop_lines
--
-- Grain: one row per player, game and snapshot (game_id, player_lookup, snapshot_at),
--        for the games dated @start_date .. @end_date, when at least one book quotes
--        the player in one of the modelled markets (warehouse/markets.py MARKETS) then.
-- Reads: nba_raw.odds_api_player_points_props  points: one row per player, game, book, snapshot
--        nba_raw.odds_api_player_props         the other markets, by their Odds API key
--                                               (player_rebounds, player_assists, player_threes,
--                                               player_points_rebounds_assists); the stored-only
--                                               markets and the yes/no rows (no line) are not read
--
-- Per market (points, rebounds, assists, threes, pra) and snapshot:
-- <m>_line: the median of the books' main lines at that snapshot (PERCENTILE_CONT 0.5, as
--   player_points_line_consensus.sql: with an even count the mean of the two middle
--   lines). A book missing from a snapshot is not carried over from an earlier one.
-- <m>_over_prob_no_vig: the mean, over the books quoting exactly the consensus line with
--   both prices, of p_over / (p_over + p_under), where p is the implied probability of the
--   American price a (a < 0: -a / (-a + 100); a > 0: 100 / (a + 100)): the vig removed
--   book by book. NULL when no book quotes the consensus line with both prices. Each book's
--   share is summed in integer units of 1e-12, so the mean has the same bits whatever order
--   an engine adds in (DuckDB and BigQuery give equal tables).
-- <m>_books_count: the books quoting the market at that snapshot.
-- A market nobody quotes at the snapshot is NULL in all three (never carried over, never 0).
-- event_timestamp: the snapshot time: the lines are known from then.
-- created_at: the latest created_at of the book rows used (not the run's clock: see
--   player_game_summary.sql).

WITH book_lines AS (
  SELECT
    game_id,
    game_date,
    player_lookup,
    snapshot_at,
    'points' AS market,
    bookmaker,
    points_line AS line,
    over_price,
    under_price,
    created_at
  FROM nba_raw.odds_api_player_points_props
  WHERE game_date BETWEEN @start_date AND @end_date

  UNION ALL

  SELECT
    game_id,
    game_date,
    player_lookup,
    snapshot_at,
    CASE market
      WHEN 'player_rebounds' THEN 'rebounds'
      WHEN 'player_assists' THEN 'assists'
      WHEN 'player_threes' THEN 'threes'
      WHEN 'player_points_rebounds_assists' THEN 'pra'
    END AS market,
    bookmaker,
    line,
    over_price,
    under_price,
    created_at
  FROM nba_raw.odds_api_player_props
  WHERE game_date BETWEEN @start_date AND @end_date
    AND market IN ('player_rebounds', 'player_assists', 'player_threes', 'player_points_rebounds_assists')
    AND line IS NOT NULL
),

priced AS (
  SELECT
    *,
    CASE WHEN over_price < 0 THEN -over_price / (-over_price + 100) ELSE 100 / (over_price + 100) END AS p_over,
    CASE WHEN under_price < 0 THEN -under_price / (-under_price + 100) ELSE 100 / (under_price + 100) END AS p_under
  FROM book_lines
),

with_consensus AS (
  SELECT
    game_id,
    game_date,
    player_lookup,
    snapshot_at,
    market,
    bookmaker,
    line,
    -- NULL when a price is (a CASE on NULL falls to its ELSE, NULL too): the book is left out
    CAST(ROUND(p_over / (p_over + p_under) * 1000000000000) AS INT64) AS over_share_e12,
    created_at,
    PERCENTILE_CONT(line, 0.5) OVER (
      PARTITION BY game_id, player_lookup, snapshot_at, market
    ) AS consensus_line
  FROM priced
),

per_market AS (
  SELECT
    game_id,
    game_date,
    player_lookup,
    snapshot_at,
    market,
    consensus_line,
    SUM(CASE WHEN line = consensus_line THEN over_share_e12 END)
      / NULLIF(COUNT(CASE WHEN line = consensus_line THEN over_share_e12 END) * 1000000000000, 0) AS over_prob_no_vig,
    -- one row per book here (the raw tables' grain, checked before any step runs)
    COUNT(*) AS books_count,
    MAX(created_at) AS created_at
  FROM with_consensus
  GROUP BY game_id, game_date, player_lookup, snapshot_at, market, consensus_line
)

SELECT
  game_id,
  game_date,
  player_lookup,
  snapshot_at,
  MAX(CASE WHEN market = 'points' THEN consensus_line END) AS points_line,
  MAX(CASE WHEN market = 'points' THEN over_prob_no_vig END) AS points_over_prob_no_vig,
  MAX(CASE WHEN market = 'points' THEN books_count END) AS points_books_count,
  MAX(CASE WHEN market = 'rebounds' THEN consensus_line END) AS rebounds_line,
  MAX(CASE WHEN market = 'rebounds' THEN over_prob_no_vig END) AS rebounds_over_prob_no_vig,
  MAX(CASE WHEN market = 'rebounds' THEN books_count END) AS rebounds_books_count,
  MAX(CASE WHEN market = 'assists' THEN consensus_line END) AS assists_line,
  MAX(CASE WHEN market = 'assists' THEN over_prob_no_vig END) AS assists_over_prob_no_vig,
  MAX(CASE WHEN market = 'assists' THEN books_count END) AS assists_books_count,
  MAX(CASE WHEN market = 'threes' THEN consensus_line END) AS threes_line,
  MAX(CASE WHEN market = 'threes' THEN over_prob_no_vig END) AS threes_over_prob_no_vig,
  MAX(CASE WHEN market = 'threes' THEN books_count END) AS threes_books_count,
  MAX(CASE WHEN market = 'pra' THEN consensus_line END) AS pra_line,
  MAX(CASE WHEN market = 'pra' THEN over_prob_no_vig END) AS pra_over_prob_no_vig,
  MAX(CASE WHEN market = 'pra' THEN books_count END) AS pra_books_count,
  snapshot_at AS event_timestamp,
  MAX(created_at) AS created_at
FROM per_market
GROUP BY game_id, game_date, player_lookup, snapshot_at
