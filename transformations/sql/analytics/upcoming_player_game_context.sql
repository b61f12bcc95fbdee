-- nba_analytics.upcoming_player_game_context
--
-- Grain: one row per player per game of his team (game_id, player_lookup), for every
--        game in nba_raw.schedule dated @start_date .. @end_date: games already played
--        (training examples) and games not played yet (prediction), built the same way
--        and only from what was known before the game.
-- Reads: nba_raw.schedule                      the games, home and away, the season label
--        nba_analytics.player_game_summary     the players' earlier games this season
--                                              (and the game's own box score, for the roster)
--        nba_raw.team_boxscores                the opponent's defence so far this season
--
-- History: the features of a game on @start_date read the games before it in its
-- season, so every input is read from the first day of @start_date's season (August 1,
-- as nbafs.timeline.season_of) and windows are limited to the same season label. A
-- season-by-season run reads one season, not the one before too.
--
-- Roster rule. A player has a row for a game of team T on date D when either
--   (a) he is in that game's box score for T (any minutes, DNP rows included), or
--   (b) his most recent box-score row this season before D was for T, and he has no
--       box-score row dated D (for any team).
-- (b) is what a prediction can know before the game (a traded player moves with his
--   first game for the new team; an injured player stays listed with his team); (a)
--   adds the players who first appear for T in that very game. So a past game has the
--   rows its prediction would have had plus its debutants, and no player has two rows
--   on one date. Which games a player did play is only used to choose rows, never as a
--   feature value.
--
-- Trades. A player traded from team A to team B has A's rows up to his first game for B
-- (dated D1) and B's rows from D1 on, never one for A after D1 nor one for B before it:
--   - his own features (the windows, games_played_season) are over his played games
--     for either team: they are partitioned by player and season, not by team;
--   - the team's features (team_abbr, opponent_team_abbr, is_home, days_rest,
--     is_back_to_back, opponent_def_rating) are the row's team's: B's from D1 on.
--   Before D1's box score is in (the prediction of D1), nothing read here says he has
--   moved: the schedule and box scores are per team, a line names the player and the
--   game but not his team, and there is no transactions feed. So rule (b) keeps him with
--   A until then: a row for every A game after his last one for A up to D1 (he sits
--   them, as an injured player would), and on D1 a row for A's game if A plays that day,
--   none for B's. Once D1's box score is in, rule (a) gives him B's row on D1 and A's
--   game of D1 (if any) loses him. That row keeps the point-in-time rule: its values
--   read only games dated before D1 (his games for A, B's schedule, the defence of B's
--   opponent); the game's own box score decides only that the row exists, as for any
--   debutant. So training sets have B's rows of traded players' first games, which a
--   prediction on D1 cannot have (one row per trade and player).
--
-- Windows. Every rolling value counts the games the player actually played (minutes > 0)
-- this season, strictly before D. They are computed once per played game (the form
-- after it, over window frames of his last N played games) and each row takes the form
-- after the player's last played game dated before D:
--   points_avg_last_5 / _last_10, minutes_avg_last_7, avg_usage_rate_last_7_games: means
--     over the last N played games (fewer if fewer; NULL if none);
--   points_avg_season: mean over all played games this season before D.
--   A NULL value inside a window (a points total the source lost) is left out of the
--   mean: the window is still the last N played games, the mean is over the non-NULL
--   values among them (NULL if all are NULL). usage_rate is never NULL for a played game.
-- games_played_season: number of played games this season before D (0 is a real count).
-- days_rest: days between the team's previous scheduled game this season and this one,
--   minus one (0 on a back-to-back); NULL for the team's first game. is_back_to_back:
--   days_rest = 0.
-- opponent_def_rating: the opponent's points allowed per 100 possessions, this season
--   before D: 100 * SUM(points scored against it) / SUM(its opponents' possessions),
--   where one team's possessions in a game ~ FGA + 0.44*FTA - OREB + TOV (from
--   nba_raw.team_boxscores, the scoring team's row). NULL before the opponent's first
--   game with a box score.
-- event_timestamp: 06:00 UTC on game_date (nbafs.timeline.upcoming_known_at).
-- created_at: the latest created_at of the rows whose values were used: the game's and
--   the team's previous game's schedule rows, the player's earlier played games, the
--   opponent's earlier team box scores (never the run's clock: see
--   player_game_summary.sql).

WITH

-- Every scheduled game, once from each team's side.
team_games AS (
  SELECT game_id, game_date, season, created_at,
         home_team_abbr AS team_abbr, away_team_abbr AS opponent_team_abbr, TRUE AS is_home
  FROM nba_raw.schedule
  WHERE game_date BETWEEN DATE(EXTRACT(YEAR FROM @start_date) - IF(EXTRACT(MONTH FROM @start_date) < 8, 1, 0), 8, 1) AND @end_date
  UNION ALL
  SELECT game_id, game_date, season, created_at,
         away_team_abbr AS team_abbr, home_team_abbr AS opponent_team_abbr, FALSE AS is_home
  FROM nba_raw.schedule
  WHERE game_date BETWEEN DATE(EXTRACT(YEAR FROM @start_date) - IF(EXTRACT(MONTH FROM @start_date) < 8, 1, 0), 8, 1) AND @end_date
),

-- The games to describe, with the team's previous game this season.
games AS (
  SELECT *
  FROM (
    SELECT
      team_games.*,
      LAG(game_date) OVER team_season AS previous_game_date,
      LAG(created_at) OVER team_season AS previous_game_created_at
    FROM team_games
    WINDOW team_season AS (PARTITION BY team_abbr, season ORDER BY game_date)
  )
  WHERE game_date BETWEEN @start_date AND @end_date
),

-- Every box-score row (played or not), with the date and team of the player's next
-- box-score row this season.
appearances AS (
  SELECT
    player_lookup, team_abbr, game_id, game_date, season, minutes, points, usage_rate, created_at,
    LEAD(game_date) OVER (PARTITION BY player_lookup, season ORDER BY game_date) AS next_game_date
  FROM nba_analytics.player_game_summary
  WHERE game_date BETWEEN DATE(EXTRACT(YEAR FROM @start_date) - IF(EXTRACT(MONTH FROM @start_date) < 8, 1, 0), 8, 1) AND @end_date
),

roster AS (
  -- (a) in the game's own box score for the team
  SELECT games.game_id, games.team_abbr, games.game_date, games.season, appearances.player_lookup
  FROM games
  JOIN appearances
    ON appearances.game_id = games.game_id
    AND appearances.team_abbr = games.team_abbr
  UNION DISTINCT
  -- (b) last seen with the team before the game, and in no box score that day
  SELECT games.game_id, games.team_abbr, games.game_date, games.season, appearances.player_lookup
  FROM games
  JOIN appearances
    ON appearances.team_abbr = games.team_abbr
    AND appearances.season = games.season
    AND appearances.game_date < games.game_date
    AND (appearances.next_game_date IS NULL OR appearances.next_game_date > games.game_date)
),

-- The player's form after each game he played: means over his played games this season
-- up to and including that game (a frame of N rows = his last N played games), and the
-- date of his next played game.
form_after_game AS (
  SELECT
    player_lookup,
    season,
    game_date,
    LEAD(game_date) OVER player_season AS next_played_date,
    COUNT(*) OVER (player_season ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS games_played_season,
    AVG(points) OVER (player_season ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS points_avg_last_5,
    AVG(points) OVER (player_season ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS points_avg_last_10,
    AVG(minutes) OVER (player_season ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS minutes_avg_last_7,
    AVG(usage_rate) OVER (player_season ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS avg_usage_rate_last_7_games,
    AVG(points) OVER (player_season ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS points_avg_season,
    MAX(created_at) OVER (player_season ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS created_at
  FROM appearances
  WHERE minutes > 0
  WINDOW player_season AS (PARTITION BY player_lookup, season ORDER BY game_date)
),

-- The form before the game: the form after the player's last played game dated before it.
form AS (
  SELECT
    roster.game_id,
    roster.player_lookup,
    form_after_game.games_played_season,
    form_after_game.points_avg_last_5,
    form_after_game.points_avg_last_10,
    form_after_game.minutes_avg_last_7,
    form_after_game.avg_usage_rate_last_7_games,
    form_after_game.points_avg_season,
    form_after_game.created_at
  FROM roster
  JOIN form_after_game
    ON form_after_game.player_lookup = roster.player_lookup
    AND form_after_game.season = roster.season
    AND form_after_game.game_date < roster.game_date
    AND (form_after_game.next_played_date IS NULL OR form_after_game.next_played_date >= roster.game_date)
),

-- Each team's defence per game: the points and possessions of the team facing it.
-- Possessions are kept in hundredths, an exact INT64 (FGA + 0.44*FTA is not exact in
-- floating point), so their season sum is the same whatever order an engine adds in.
defence_games AS (
  SELECT
    team_games.team_abbr AS defence_abbr,
    team_games.season,
    team_games.game_date,
    scorer.points AS points_allowed,
    100 * (scorer.fga - scorer.oreb + scorer.turnovers) + 44 * scorer.fta AS opponent_possessions_x100,
    scorer.created_at
  FROM team_games
  JOIN nba_raw.team_boxscores AS scorer
    ON scorer.game_id = team_games.game_id
    AND scorer.team_abbr = team_games.opponent_team_abbr
),

opponent_defence AS (
  SELECT
    games.game_id,
    games.team_abbr,
    SAFE_DIVIDE(100 * SUM(defence_games.points_allowed), SUM(defence_games.opponent_possessions_x100) / 100)
      AS opponent_def_rating,
    MAX(defence_games.created_at) AS created_at
  FROM games
  JOIN defence_games
    ON defence_games.defence_abbr = games.opponent_team_abbr
    AND defence_games.season = games.season
    AND defence_games.game_date < games.game_date
  GROUP BY games.game_id, games.team_abbr
)

SELECT
  games.game_id,
  games.game_date,
  roster.player_lookup,
  games.team_abbr,
  games.opponent_team_abbr,
  games.season,
  games.is_home,
  COALESCE(form.games_played_season, 0) AS games_played_season,
  DATE_DIFF(games.game_date, games.previous_game_date, DAY) - 1 AS days_rest,
  DATE_DIFF(games.game_date, games.previous_game_date, DAY) = 1 AS is_back_to_back,
  form.points_avg_last_5,
  form.points_avg_last_10,
  form.minutes_avg_last_7,
  form.avg_usage_rate_last_7_games,
  form.points_avg_season,
  opponent_defence.opponent_def_rating,
  TIMESTAMP_ADD(TIMESTAMP(games.game_date), INTERVAL 6 HOUR) AS event_timestamp,
  GREATEST(
    games.created_at,
    COALESCE(games.previous_game_created_at, games.created_at),
    COALESCE(form.created_at, games.created_at),
    COALESCE(opponent_defence.created_at, games.created_at)
  ) AS created_at
FROM roster
JOIN games
  ON games.game_id = roster.game_id
  AND games.team_abbr = roster.team_abbr
LEFT JOIN form
  ON form.game_id = roster.game_id
  AND form.player_lookup = roster.player_lookup
LEFT JOIN opponent_defence
  ON opponent_defence.game_id = games.game_id
  AND opponent_defence.team_abbr = games.team_abbr
