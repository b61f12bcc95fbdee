-- nba_analytics.player_stat_form
--
-- Grain: one row per upcoming_player_game_context row (game_id, player_lookup), for the
--        games dated @start_date .. @end_date: the same rows, past games and upcoming
--        ones, built only from earlier games.
-- Reads: nba_analytics.upcoming_player_game_context  the rows (roster), their season and
--                                                    games_played_season
--        nba_analytics.player_game_summary           the player's earlier games this season,
--                                                    and every team's earlier games (the
--                                                    opponent's allowance)
--
-- History: the features of a game on @start_date read the games before it, so the box
-- scores are read from the first day of @start_date's season (August 1) and windows are
-- limited to the same season label (as upcoming_player_game_context.sql).
--
-- Stats: points, rebounds, assists, threes_made (= fg3m), pra (= points + rebounds +
-- assists; NULL when any of the three is NULL). The markets settle on them
-- (warehouse/markets.py).
--
-- Windows. Every rolling value counts the games the player actually played (minutes > 0)
-- this season, strictly before the game's date D. As in upcoming_player_game_context.sql
-- they are computed once per played game (the form after it, over window frames of his
-- last N played games) and each row takes the form after his last played game dated
-- before D. A NULL value inside a window (a total the source lost) is left out: the
-- window is still the last N played games, the value is over the non-NULL ones among
-- them (NULL if none).
--   <stat>_avg_last_5 / _last_10 (not points: the context has those): mean over the last
--     N played games (fewer if fewer; NULL if none).
--   <stat>_avg_season (not points): mean over all played games this season before D.
--   <stat>_per_minute_last_10: SUM(stat) / SUM(minutes) over the last 10 played games,
--     a game whose stat is NULL left out of both sums; NULL if none is left.
--   <stat>_std_last_10: sample standard deviation (STDDEV_SAMP) over the last 10 played
--     games; NULL with fewer than 2 non-NULL values.
--   minutes_avg_last_3: mean minutes over the last 3 played games.
--   minutes_std_last_10: sample standard deviation of minutes over the last 10 played
--     games; NULL with fewer than 2.
-- opponent_<stat>_allowed_avg_season: over the opponent's games this season dated
--   before D, the stat summed over the players of the team facing it in that game
--   (their played rows: minutes > 0), then the mean of those per-game totals. A game in
--   which some played player's stat is NULL is left out (its total is unknown, not
--   smaller). NULL before the opponent's first such game.
-- A traded player: his windows run over his played games for either team (partitioned
--   by player and season, not team); the opponent is the context row's, so his new
--   team's from his first game for it (the roster rule of upcoming_player_game_context.sql).
-- games_played_season: copied from the context row.
-- event_timestamp: 06:00 UTC on game_date (nbafs.timeline.upcoming_known_at).
-- created_at: the latest created_at of the rows used: the context row, the player's
--   earlier played games, the opponent's opponents' played rows of its earlier games
--   (never the run's clock: see player_game_summary.sql).

WITH

context AS (
  SELECT
    game_id,
    game_date,
    player_lookup,
    team_abbr,
    opponent_team_abbr,
    season,
    games_played_season,
    created_at
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date BETWEEN @start_date AND @end_date
),

-- Every played box-score row, with the five stats.
played AS (
  SELECT
    game_id,
    game_date,
    season,
    player_lookup,
    team_abbr,
    opponent_team_abbr,
    minutes,
    points,
    rebounds,
    assists,
    fg3m AS threes_made,
    points + rebounds + assists AS pra,
    created_at
  FROM nba_analytics.player_game_summary
  WHERE minutes > 0
    AND game_date BETWEEN DATE(EXTRACT(YEAR FROM @start_date) - IF(EXTRACT(MONTH FROM @start_date) < 8, 1, 0), 8, 1) AND @end_date
),

-- The player's form after each game he played (frames of N rows = his last N played
-- games this season, that game included), and the date of his next played game.
-- Per-minute rates divide by the minutes of the games whose stat is known.
form_after_game AS (
  SELECT
    player_lookup,
    season,
    game_date,
    LEAD(game_date) OVER player_season AS next_played_date,
    AVG(rebounds) OVER last_5 AS rebounds_avg_last_5,
    AVG(rebounds) OVER last_10 AS rebounds_avg_last_10,
    AVG(rebounds) OVER to_date AS rebounds_avg_season,
    AVG(assists) OVER last_5 AS assists_avg_last_5,
    AVG(assists) OVER last_10 AS assists_avg_last_10,
    AVG(assists) OVER to_date AS assists_avg_season,
    AVG(threes_made) OVER last_5 AS threes_made_avg_last_5,
    AVG(threes_made) OVER last_10 AS threes_made_avg_last_10,
    AVG(threes_made) OVER to_date AS threes_made_avg_season,
    AVG(pra) OVER last_5 AS pra_avg_last_5,
    AVG(pra) OVER last_10 AS pra_avg_last_10,
    AVG(pra) OVER to_date AS pra_avg_season,
    SAFE_DIVIDE(SUM(points) OVER last_10, SUM(IF(points IS NULL, NULL, minutes)) OVER last_10)
      AS points_per_minute_last_10,
    SAFE_DIVIDE(SUM(rebounds) OVER last_10, SUM(IF(rebounds IS NULL, NULL, minutes)) OVER last_10)
      AS rebounds_per_minute_last_10,
    SAFE_DIVIDE(SUM(assists) OVER last_10, SUM(IF(assists IS NULL, NULL, minutes)) OVER last_10)
      AS assists_per_minute_last_10,
    SAFE_DIVIDE(SUM(threes_made) OVER last_10, SUM(IF(threes_made IS NULL, NULL, minutes)) OVER last_10)
      AS threes_made_per_minute_last_10,
    SAFE_DIVIDE(SUM(pra) OVER last_10, SUM(IF(pra IS NULL, NULL, minutes)) OVER last_10)
      AS pra_per_minute_last_10,
    STDDEV_SAMP(points) OVER last_10 AS points_std_last_10,
    STDDEV_SAMP(rebounds) OVER last_10 AS rebounds_std_last_10,
    STDDEV_SAMP(assists) OVER last_10 AS assists_std_last_10,
    STDDEV_SAMP(threes_made) OVER last_10 AS threes_made_std_last_10,
    STDDEV_SAMP(pra) OVER last_10 AS pra_std_last_10,
    AVG(minutes) OVER last_3 AS minutes_avg_last_3,
    STDDEV_SAMP(minutes) OVER last_10 AS minutes_std_last_10,
    MAX(created_at) OVER to_date AS created_at
  FROM played
  WINDOW
    player_season AS (PARTITION BY player_lookup, season ORDER BY game_date),
    last_3 AS (player_season ROWS BETWEEN 2 PRECEDING AND CURRENT ROW),
    last_5 AS (player_season ROWS BETWEEN 4 PRECEDING AND CURRENT ROW),
    last_10 AS (player_season ROWS BETWEEN 9 PRECEDING AND CURRENT ROW),
    to_date AS (player_season ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),

-- The form before the game: the form after the player's last played game dated before it.
form AS (
  SELECT
    context.game_id,
    context.player_lookup,
    form_after_game.* EXCEPT (player_lookup, season, game_date, next_played_date)
  FROM context
  JOIN form_after_game
    ON form_after_game.player_lookup = context.player_lookup
    AND form_after_game.season = context.season
    AND form_after_game.game_date < context.game_date
    AND (form_after_game.next_played_date IS NULL OR form_after_game.next_played_date >= context.game_date)
),

-- What each team allowed per game: the stats of the team facing it, summed over that
-- team's played rows; NULL when one of them lost the stat.
allowed_games AS (
  SELECT
    opponent_team_abbr AS defence_abbr,
    season,
    game_date,
    IF(COUNTIF(points IS NULL) > 0, NULL, SUM(points)) AS points,
    IF(COUNTIF(rebounds IS NULL) > 0, NULL, SUM(rebounds)) AS rebounds,
    IF(COUNTIF(assists IS NULL) > 0, NULL, SUM(assists)) AS assists,
    IF(COUNTIF(threes_made IS NULL) > 0, NULL, SUM(threes_made)) AS threes_made,
    IF(COUNTIF(pra IS NULL) > 0, NULL, SUM(pra)) AS pra,
    MAX(created_at) AS created_at
  FROM played
  GROUP BY game_id, team_abbr, opponent_team_abbr, season, game_date
),

-- The opponent's season-to-date allowance before each game it plays.
opponent_allowed AS (
  SELECT
    asked.game_id,
    asked.opponent_team_abbr,
    AVG(allowed_games.points) AS opponent_points_allowed_avg_season,
    AVG(allowed_games.rebounds) AS opponent_rebounds_allowed_avg_season,
    AVG(allowed_games.assists) AS opponent_assists_allowed_avg_season,
    AVG(allowed_games.threes_made) AS opponent_threes_made_allowed_avg_season,
    AVG(allowed_games.pra) AS opponent_pra_allowed_avg_season,
    MAX(allowed_games.created_at) AS created_at
  FROM (SELECT DISTINCT game_id, game_date, season, opponent_team_abbr FROM context) AS asked
  JOIN allowed_games
    ON allowed_games.defence_abbr = asked.opponent_team_abbr
    AND allowed_games.season = asked.season
    AND allowed_games.game_date < asked.game_date
  GROUP BY asked.game_id, asked.opponent_team_abbr
)

SELECT
  context.game_id,
  context.game_date,
  context.player_lookup,
  context.team_abbr,
  context.opponent_team_abbr,
  context.season,
  context.games_played_season,
  form.points_per_minute_last_10,
  form.points_std_last_10,
  opponent_allowed.opponent_points_allowed_avg_season,
  form.rebounds_avg_last_5,
  form.rebounds_avg_last_10,
  form.rebounds_avg_season,
  form.rebounds_per_minute_last_10,
  form.rebounds_std_last_10,
  opponent_allowed.opponent_rebounds_allowed_avg_season,
  form.assists_avg_last_5,
  form.assists_avg_last_10,
  form.assists_avg_season,
  form.assists_per_minute_last_10,
  form.assists_std_last_10,
  opponent_allowed.opponent_assists_allowed_avg_season,
  form.threes_made_avg_last_5,
  form.threes_made_avg_last_10,
  form.threes_made_avg_season,
  form.threes_made_per_minute_last_10,
  form.threes_made_std_last_10,
  opponent_allowed.opponent_threes_made_allowed_avg_season,
  form.pra_avg_last_5,
  form.pra_avg_last_10,
  form.pra_avg_season,
  form.pra_per_minute_last_10,
  form.pra_std_last_10,
  opponent_allowed.opponent_pra_allowed_avg_season,
  form.minutes_avg_last_3,
  form.minutes_std_last_10,
  TIMESTAMP_ADD(TIMESTAMP(context.game_date), INTERVAL 6 HOUR) AS event_timestamp,
  GREATEST(
    context.created_at,
    COALESCE(form.created_at, context.created_at),
    COALESCE(opponent_allowed.created_at, context.created_at)
  ) AS created_at
FROM context
LEFT JOIN form
  ON form.game_id = context.game_id
  AND form.player_lookup = context.player_lookup
LEFT JOIN opponent_allowed
  ON opponent_allowed.game_id = context.game_id
  AND opponent_allowed.opponent_team_abbr = context.opponent_team_abbr
