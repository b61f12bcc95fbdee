-- nba_analytics.player_season_prior
--
-- Grain: one row per upcoming_player_game_context row (game_id, player_lookup), for the
--        games dated @start_date .. @end_date: the same rows, past games and upcoming
--        ones, built only from games dated before the game.
-- Reads: nba_analytics.upcoming_player_game_context  the rows (roster), their season and
--                                                    games_played_season
--        nba_analytics.player_game_summary           the previous season's box scores: the
--                                                    player's played games, and whether the
--                                                    warehouse holds that season at all
--        nba_raw.team_boxscores + nba_raw.schedule   his teams' totals of the previous
--                                                    season (for the usage rate)
--
-- What a player's first games of a season cannot say from this season alone: his
-- figures of the previous season, separate from the season-to-date ones and named
-- *_prev_season. The previous season of a row is the season label before its own
-- (2024-25 for 2025-26: nbafs.timeline.season_of, one year earlier), not the latest
-- label the warehouse holds, so a season missing from the warehouse is never replaced
-- by an older one.
--
-- Point in time: every game of the previous season is dated before every game of the
-- row's season, and the joins below also require each total's last game to be dated
-- before the game (D); so a row never reads a game dated on or after D. The box scores
-- are read from two years before @start_date (the previous season of any date starts
-- less than two years before it).
--
-- Played games: minutes > 0 (a DNP row is not a game).
-- games_played_prev_season: how many games the player played in the previous season;
--   0 when the warehouse has box scores of that season (player_game_summary rows of that
--   label dated before D) and none of them is a played game of his; NULL when it has
--   none at all (we do not know, e.g. the first season of a warehouse).
-- <stat>_avg_prev_season, minutes_avg_prev_season: means over his played games of the
--   previous season; a game whose stat is NULL (a total the source lost) is left out of
--   that stat's mean; NULL when no value is left (he did not play). Stats as in
--   player_stat_form.sql: points, rebounds, assists, threes_made (= fg3m), pra (= points
--   + rebounds + assists; NULL when any of the three is NULL). Minutes are summed in
--   integer billionths (a minute of seconds, 1/60, is not a decimal), so no engine's
--   order of addition changes their last bits.
-- usage_rate_prev_season: the season usage formula of season_usage_rate
--   (player_composite_factors.sql) on the whole previous season: per team he played for
--   (a stint), his FGA + 0.44*FTA + TOV and minutes over his played games with a
--   usage_rate, and that team's minutes, FGA, FTA and TOV over ALL its games of that
--   season (team_boxscores, season label from the schedule):
--     100 * SUM_stints(FGA + 0.44*FTA + TOV)
--         / SUM_stints(MIN * (TmFGA + 0.44*TmFTA + TmTOV) / (TmMIN / 5));
--   plays in integer hundredths, minutes in integer billionths. NULL when he played no
--   game with a usage_rate.
-- team_abbr, season, games_played_season: copied from the context row; prev_season: the
--   label read.
-- event_timestamp: 06:00 UTC on game_date (nbafs.timeline.upcoming_known_at).
-- created_at: the latest created_at of the rows used: the context row, the player's
--   played rows of the previous season and his teams' box scores of that season (never
--   the run's clock: see player_game_summary.sql).

WITH

context AS (
  SELECT
    game_id,
    game_date,
    player_lookup,
    team_abbr,
    season,
    games_played_season,
    CONCAT(CAST(CAST(SUBSTR(season, 1, 4) AS INT64) - 1 AS STRING), '-', SUBSTR(season, 3, 2)) AS prev_season,
    created_at
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date BETWEEN @start_date AND @end_date
),

summary AS (
  SELECT
    game_date,
    season,
    player_lookup,
    team_abbr,
    minutes,
    points,
    rebounds,
    assists,
    fg3m,
    fga,
    fta,
    turnovers,
    usage_rate,
    created_at
  FROM nba_analytics.player_game_summary
  WHERE game_date BETWEEN DATE_SUB(@start_date, INTERVAL 2 YEAR) AND @end_date
),

-- The seasons the warehouse holds box scores of, and the date of each one's last game.
seasons AS (
  SELECT season, MAX(game_date) AS last_game_date
  FROM summary
  GROUP BY season
),

-- The player's totals of each season over his played games.
player_seasons AS (
  SELECT
    player_lookup,
    season,
    COUNT(*) AS games_played,
    SUM(CAST(ROUND(minutes * 1000000000) AS INT64)) / (1000000000 * COUNT(*)) AS minutes_avg,
    AVG(points) AS points_avg,
    AVG(rebounds) AS rebounds_avg,
    AVG(assists) AS assists_avg,
    AVG(fg3m) AS threes_made_avg,
    AVG(points + rebounds + assists) AS pra_avg,
    MAX(game_date) AS last_game_date,
    MAX(created_at) AS created_at
  FROM summary
  WHERE minutes > 0
  GROUP BY player_lookup, season
),

-- The player's usage totals of each season per team he played for (his games with a
-- usage_rate only), in integer hundredths of a play and billionths of a minute.
player_stints AS (
  SELECT
    player_lookup,
    season,
    team_abbr,
    SUM(100 * (fga + turnovers) + 44 * fta) AS plays_e2,
    SUM(CAST(ROUND(minutes * 1000000000) AS INT64)) AS minutes_e9,
    MAX(game_date) AS last_game_date
  FROM summary
  WHERE minutes > 0
    AND usage_rate IS NOT NULL
  GROUP BY player_lookup, season, team_abbr
),

-- Each team's totals of each season over all its games.
team_seasons AS (
  SELECT
    team.team_abbr,
    sched.season,
    SUM(100 * (team.fga + team.turnovers) + 44 * team.fta) AS plays_e2,
    SUM(CAST(ROUND(team.minutes * 1000000000) AS INT64)) AS minutes_e9,
    MAX(team.game_date) AS last_game_date,
    MAX(team.created_at) AS created_at
  FROM nba_raw.team_boxscores AS team
  JOIN nba_raw.schedule AS sched
    ON sched.game_id = team.game_id
  WHERE team.game_date BETWEEN DATE_SUB(@start_date, INTERVAL 2 YEAR) AND @end_date
  GROUP BY team.team_abbr, sched.season
),

-- The previous season's usage rate of each context row's player, summed over his stints:
-- with plays in hundredths and minutes in billionths the formula above is
-- 100 * SUM(plays_e2) / SUM(minutes_e9 / team minutes_e9 * team plays_e2 * 5), each
-- stint's term computed from exact integers in one fixed order.
prior_usage AS (
  SELECT
    asked.player_lookup,
    asked.prev_season,
    asked.game_date,
    100 * SUM(stint.plays_e2)
      / NULLIF(SUM(stint.minutes_e9 / team_seasons.minutes_e9 * team_seasons.plays_e2 * 5), 0)
      AS usage_rate_prev_season,
    MAX(team_seasons.created_at) AS created_at
  FROM (SELECT DISTINCT player_lookup, prev_season, game_date FROM context) AS asked
  JOIN player_stints AS stint
    ON stint.player_lookup = asked.player_lookup
    AND stint.season = asked.prev_season
    AND stint.last_game_date < asked.game_date
  JOIN team_seasons
    ON team_seasons.team_abbr = stint.team_abbr
    AND team_seasons.season = stint.season
    AND team_seasons.last_game_date < asked.game_date
  GROUP BY asked.player_lookup, asked.prev_season, asked.game_date
)

SELECT
  context.game_id,
  context.game_date,
  context.player_lookup,
  context.team_abbr,
  context.season,
  context.games_played_season,
  context.prev_season,
  IF(seasons.season IS NULL, NULL, COALESCE(prior.games_played, 0)) AS games_played_prev_season,
  prior.minutes_avg AS minutes_avg_prev_season,
  prior.points_avg AS points_avg_prev_season,
  prior.rebounds_avg AS rebounds_avg_prev_season,
  prior.assists_avg AS assists_avg_prev_season,
  prior.threes_made_avg AS threes_made_avg_prev_season,
  prior.pra_avg AS pra_avg_prev_season,
  prior_usage.usage_rate_prev_season,
  TIMESTAMP_ADD(TIMESTAMP(context.game_date), INTERVAL 6 HOUR) AS event_timestamp,
  GREATEST(
    context.created_at,
    COALESCE(prior.created_at, context.created_at),
    COALESCE(prior_usage.created_at, context.created_at)
  ) AS created_at
FROM context
LEFT JOIN seasons
  ON seasons.season = context.prev_season
  AND seasons.last_game_date < context.game_date
LEFT JOIN player_seasons AS prior
  ON prior.player_lookup = context.player_lookup
  AND prior.season = context.prev_season
  AND prior.last_game_date < context.game_date
LEFT JOIN prior_usage
  ON prior_usage.player_lookup = context.player_lookup
  AND prior_usage.prev_season = context.prev_season
  AND prior_usage.game_date = context.game_date
