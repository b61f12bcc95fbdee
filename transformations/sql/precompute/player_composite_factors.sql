-- nba_precompute.player_composite_factors
--
-- Grain: one row per upcoming_player_game_context row (game_id, player_lookup), for the
--        games dated @start_date .. @end_date: every game of the player's team, past
--        and upcoming, built only from earlier games.
-- Reads: nba_analytics.upcoming_player_game_context  the rolling form of the player
--        nba_analytics.player_game_summary           the player's earlier games this season
--        nba_raw.team_boxscores + nba_raw.schedule   his teams' totals this season
--
-- season_usage_rate: Basketball-Reference's USG% formula on season-to-date totals
--   strictly before the game:
--     100 * (FGA + 0.44*FTA + TOV) * (TmMIN / 5) / (MIN * (TmFGA + 0.44*TmFTA + TmTOV))
--   where the player's sums run over his played games with a usage_rate this season and
--   the team's sums run over ALL the team's games so far this season (not only the
--   games he played: that is how B-Ref computes USG%, and ../shared/data/README.md
--   shows the other choice drifts by 0.7 points).
--   A traded player is summed per stint, as B-Ref does per team: each team he played
--   for contributes his minutes there weighted by that team's pace-of-plays
--   (TmFGA + 0.44*TmFTA + TmTOV) / (TmMIN / 5) over all its games so far, i.e.
--     100 * SUM_stints(FGA + 0.44*FTA + TOV)
--         / SUM_stints(MIN * (TmFGA + 0.44*TmFTA + TmTOV) / (TmMIN / 5)),
--   which is exactly the formula above for a player with one team.
--   NULL before his first played game.
-- usage_spike_score: avg_usage_rate_last_7_games / season_usage_rate; NULL when either
--   is NULL or season_usage_rate is 0.
-- points_form_ratio: points_avg_last_5 / points_avg_season; NULL when either is NULL or
--   the season mean is 0.
-- minutes_form_ratio: minutes_avg_last_7 / (season minutes / games played), both over
--   his played games this season before the game; NULL when either is NULL or 0.
-- event_timestamp: 06:00 UTC on game_date (nbafs.timeline.upcoming_known_at).
-- created_at: the latest created_at of the rows used: the context row, the player's
--   earlier games, his teams' earlier box scores (never the run's clock: see
--   player_game_summary.sql).

WITH

context AS (
  SELECT
    game_id,
    game_date,
    player_lookup,
    season,
    games_played_season,
    points_avg_last_5,
    points_avg_season,
    minutes_avg_last_7,
    avg_usage_rate_last_7_games,
    created_at
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date BETWEEN @start_date AND @end_date
),

-- The player's season totals with each team, after each game he played for it, and the
-- date of his next played game for that team.
stint_after_game AS (
  SELECT
    player_lookup,
    season,
    team_abbr,
    game_date,
    LEAD(game_date) OVER player_team AS next_played_date,
    COUNT(*) OVER (player_team ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS games_played,
    SUM(minutes) OVER (player_team ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS minutes,
    SUM(IF(usage_rate IS NOT NULL, minutes, NULL))
      OVER (player_team ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS usage_minutes,
    SUM(IF(usage_rate IS NOT NULL, fga + 0.44 * fta + turnovers, NULL))
      OVER (player_team ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS plays,
    MAX(created_at) OVER (player_team ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS created_at
  FROM nba_analytics.player_game_summary
  WHERE minutes > 0
    -- from the first day of @start_date's season (August 1): the windows are per season
    AND game_date BETWEEN DATE(EXTRACT(YEAR FROM @start_date) - IF(EXTRACT(MONTH FROM @start_date) < 8, 1, 0), 8, 1) AND @end_date
  WINDOW player_team AS (PARTITION BY player_lookup, season, team_abbr ORDER BY game_date)
),

-- The player's season-to-date totals before the game, one row per team he played for:
-- the totals after his last game for that team dated before the game.
player_stints AS (
  SELECT
    context.game_id,
    context.player_lookup,
    context.season,
    context.game_date,
    stint.team_abbr,
    stint.games_played,
    stint.minutes,
    stint.usage_minutes,
    stint.plays,
    stint.created_at
  FROM context
  JOIN stint_after_game AS stint
    ON stint.player_lookup = context.player_lookup
    AND stint.season = context.season
    AND stint.game_date < context.game_date
    AND (stint.next_played_date IS NULL OR stint.next_played_date >= context.game_date)
),

team_games AS (
  SELECT
    team.team_abbr,
    team.game_date,
    sched.season,
    team.minutes,
    team.fga,
    team.fta,
    team.turnovers,
    team.created_at
  FROM nba_raw.team_boxscores AS team
  JOIN nba_raw.schedule AS sched
    ON sched.game_id = team.game_id
  WHERE team.game_date BETWEEN DATE(EXTRACT(YEAR FROM @start_date) - IF(EXTRACT(MONTH FROM @start_date) < 8, 1, 0), 8, 1) AND @end_date
),

-- Each team's season-to-date totals before a date, over all its games. Plays are summed
-- in hundredths (exact INT64), so the total does not depend on the order of the rows.
team_to_date AS (
  SELECT
    asked.team_abbr,
    asked.season,
    asked.game_date,
    SUM(team_games.minutes) AS team_minutes,
    SUM(100 * (team_games.fga + team_games.turnovers) + 44 * team_games.fta) / 100 AS team_plays,
    MAX(team_games.created_at) AS created_at
  FROM (SELECT DISTINCT team_abbr, season, game_date FROM player_stints) AS asked
  JOIN team_games
    ON team_games.team_abbr = asked.team_abbr
    AND team_games.season = asked.season
    AND team_games.game_date < asked.game_date
  GROUP BY asked.team_abbr, asked.season, asked.game_date
),

season_totals AS (
  SELECT
    player_stints.game_id,
    player_stints.player_lookup,
    SUM(player_stints.games_played) AS games_played,
    SUM(player_stints.minutes) AS minutes,
    100 * SUM(player_stints.plays)
      / NULLIF(SUM(player_stints.usage_minutes * team_to_date.team_plays / (team_to_date.team_minutes / 5)), 0)
      AS season_usage_rate,
    GREATEST(MAX(player_stints.created_at), MAX(team_to_date.created_at)) AS created_at
  FROM player_stints
  JOIN team_to_date
    ON team_to_date.team_abbr = player_stints.team_abbr
    AND team_to_date.season = player_stints.season
    AND team_to_date.game_date = player_stints.game_date
  GROUP BY player_stints.game_id, player_stints.player_lookup
)

SELECT
  context.game_id,
  context.game_date,
  context.player_lookup,
  context.season,
  context.games_played_season,
  season_totals.season_usage_rate,
  SAFE_DIVIDE(context.avg_usage_rate_last_7_games, season_totals.season_usage_rate) AS usage_spike_score,
  SAFE_DIVIDE(context.points_avg_last_5, context.points_avg_season) AS points_form_ratio,
  SAFE_DIVIDE(context.minutes_avg_last_7, SAFE_DIVIDE(season_totals.minutes, season_totals.games_played))
    AS minutes_form_ratio,
  TIMESTAMP_ADD(TIMESTAMP(context.game_date), INTERVAL 6 HOUR) AS event_timestamp,
  GREATEST(context.created_at, COALESCE(season_totals.created_at, context.created_at)) AS created_at
FROM context
LEFT JOIN season_totals
  ON season_totals.game_id = context.game_id
  AND season_totals.player_lookup = context.player_lookup
