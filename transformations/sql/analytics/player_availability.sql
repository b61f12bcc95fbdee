-- nba_analytics.player_availability
--
-- Grain: one row per nba_analytics.upcoming_player_game_context row (game_id,
--        player_lookup), for the games dated @start_date .. @end_date: every game of the
--        player's team, past and upcoming, built only from what was known before it.
-- Reads: nba_analytics.upcoming_player_game_context  the rows (the roster) and
--                                                    games_played_season
--        nba_raw.schedule                            the team's earlier games this season
--        nba_analytics.player_game_summary           box-score rows dated BEFORE the game
--                                                    only (never the game's own, never a
--                                                    later one): who played, minutes, usage
--
-- Proxies for an injury report, which the data lacks: who of the team's recent rotation
-- sat its last game (and is likely still out), what they leave behind, and the player's
-- own recent missed games. "Did not play" = no box-score row for the team in that game,
-- or a row with minutes 0. Below, D is the game's date, T the player's team, and every
-- game counted is of the same season label, dated before D.
--
-- The team's games: its scheduled games with a complete box score for T, i.e. box-score
--   rows whose minutes add up to at least the team's minutes (team_minutes) less 12. A
--   game missing a rotation player's row (15+ minutes) says nothing about who sat; the
--   real team totals round minutes by a few (237-241 for 240). The team's last game L:
--   the most recent of them. With none, every column below is NULL.
-- Rotation of T before D: every teammate q (not the player himself) such that
--   (i)   q's most recent box-score row this season before D is for T (he is on T's
--         roster, as in the context's roster rule (b));
--   (ii)  q averaged at least 15 minutes over his last 5 played games (minutes > 0, any
--         team) dated before L: 15 minutes is where an NBA rotation (8-9 men sharing 240
--         minutes) ends and the end of the bench begins. Judged before L, so that a
--         rotation player who sat L counts the same as one who played it;
--   (iii) q's most recent played game before L was for T and dated no earlier than the
--         first of T's 10 games before L: a player out for longer has left the rotation,
--         and by then his absence is in his teammates' own recent form already.
--   So only games known before L's tip-off choose the rotation; early in the season (no
--   game before L) it is empty, and a player hurt since opening night is never in it.
-- rotation_teammates_out: how many of the rotation did not play L; 0 is a real count.
-- vacated_minutes: the sum, over those teammates, of their mean minutes over their last
--   5 played games (the window of (ii)); 0 when none is out.
-- vacated_usage_share: the percent of the team's possessions those teammates used per
--   game: SUM over them of usage_avg x minutes_avg / 48, usage_avg and minutes_avg their
--   mean usage_rate and mean minutes over the same 5 games. USG% counts a player's plays
--   per team play while he is on the floor (one of 5), so USG% x minutes / (240 / 5) is
--   his share of the team's plays in a 240-minute game; the whole team's adds up to
--   ~100. 0 when none is out. (It can pass 100 when most of a rotation sits: each share
--   is measured in that teammate's own games.)
--   The sums are taken in integer millionths (of a minute, of a percent), so no engine's
--   order of addition changes their last bits.
-- player_missed_last_game: the player did not play L for T. NULL unless his most recent
--   box-score row this season before D is for T (as in (i): nothing says he was on T's
--   roster for L: no earlier row at all, or the row is his first game for T after a
--   trade); and NULL without L.
-- player_games_missed_last_5: of T's last 5 games before D dated on or after the
--   player's first box-score row this season for T, how many he did not play for T;
--   NULL as above.
-- A traded player (a row for team A, then rows for team B; see the roster rule in
--   upcoming_player_game_context.sql): until his first game for B he is A's (a
--   candidate of (i) for A, so A's rotation counts him out once he misses A's games, and
--   his own columns are about A's games); from that game on he is B's: never a candidate
--   for A again, and B's games before he came are not counted as games he missed (on
--   his first game for B itself, both his columns are NULL). The windows of (ii) are
--   his own played games, for either team.
-- games_played_season: copied from the context row.
-- event_timestamp: 06:00 UTC on game_date (nbafs.timeline.upcoming_known_at).
-- created_at: the latest of the context row's created_at and the created_at of the rows
--   read: T's schedule and box-score rows before D, and every box-score row this
--   season before D of the player and of each teammate considered in (i) (never the
--   run's clock: see player_game_summary.sql).

WITH

context AS (
  SELECT game_id, game_date, player_lookup, team_abbr, season, games_played_season, created_at
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date BETWEEN @start_date AND @end_date
),

-- The team-games described.
team_dates AS (
  SELECT DISTINCT game_id, game_date, team_abbr, season
  FROM context
),

-- Every box-score row dated before @end_date (so never one dated on or after the last
-- game described; the joins below keep only those before each game), with the date of
-- the player's next row this season, his first row's date for that team and the newest
-- created_at of his rows so far this season.
appearances AS (
  SELECT
    player_lookup, team_abbr, game_id, game_date, season, minutes, team_minutes, usage_rate, created_at,
    LEAD(game_date) OVER player_season AS next_row_date,
    MIN(game_date) OVER (PARTITION BY player_lookup, season, team_abbr ORDER BY game_date
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS first_team_row_date,
    MAX(created_at) OVER (player_season ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS created_through
  FROM nba_analytics.player_game_summary
  -- from the first day of @start_date's season (August 1): the windows are per season
  WHERE game_date BETWEEN DATE(EXTRACT(YEAR FROM @start_date) - IF(EXTRACT(MONTH FROM @start_date) < 8, 1, 0), 8, 1) AND DATE_SUB(@end_date, INTERVAL 1 DAY)
  WINDOW player_season AS (PARTITION BY player_lookup, season ORDER BY game_date)
),

-- Every game of the team with box-score rows for it, whether its box score is complete,
-- the number of complete ones up to it (a complete game's number, in date order per team
-- and season) and the newest created_at of the team's schedule and box-score rows up to
-- it (all of them were read, complete or not). Minutes are added in whole seconds, so
-- the sum is exact on every engine.
team_box_games AS (
  SELECT
    game_id, game_date, season, team_abbr, complete,
    SUM(IF(complete, 1, 0)) OVER (team_season ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS team_game_n,
    MAX(created_at) OVER (team_season ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS created_through
  FROM (
    SELECT
      sched.game_id, sched.game_date, sched.season, sides.team_abbr, sides.complete,
      GREATEST(sched.created_at, sides.box_created_at) AS created_at
    FROM nba_raw.schedule AS sched
    JOIN (
      SELECT
        game_id, team_abbr, MAX(created_at) AS box_created_at,
        SUM(CAST(ROUND(minutes * 60) AS INT64)) >= CAST(ROUND((MAX(team_minutes) - 12) * 60) AS INT64) AS complete
      FROM appearances
      GROUP BY game_id, team_abbr
    ) AS sides
      ON sides.game_id = sched.game_id
      AND sides.team_abbr IN (sched.home_team_abbr, sched.away_team_abbr)
    WHERE sched.game_date BETWEEN DATE(EXTRACT(YEAR FROM @start_date) - IF(EXTRACT(MONTH FROM @start_date) < 8, 1, 0), 8, 1) AND DATE_SUB(@end_date, INTERVAL 1 DAY)
  )
  WINDOW team_season AS (PARTITION BY team_abbr, season ORDER BY game_date, game_id)
),

-- Per team-game described: the team's last game L, the first date of its 10 games before
-- L (rule (iii)) and the newest created_at of its rows before D; L NULL when the team has
-- no earlier complete box score this season (no row without any earlier box score).
last_games AS (
  SELECT
    numbered.game_id, numbered.team_abbr, numbered.season, numbered.last_n, numbered.created_through,
    last_game.game_id AS last_game_id,
    last_game.game_date AS last_game_date,
    window_start.game_date AS rotation_window_start
  FROM (
    SELECT
      team_dates.game_id, team_dates.team_abbr, team_dates.season,
      MAX(IF(earlier.complete, earlier.team_game_n, NULL)) AS last_n,
      MAX(earlier.created_through) AS created_through
    FROM team_dates
    JOIN team_box_games AS earlier
      ON earlier.team_abbr = team_dates.team_abbr
      AND earlier.season = team_dates.season
      AND earlier.game_date < team_dates.game_date
    GROUP BY team_dates.game_id, team_dates.team_abbr, team_dates.season
  ) AS numbered
  LEFT JOIN team_box_games AS last_game
    ON last_game.team_abbr = numbered.team_abbr
    AND last_game.season = numbered.season
    AND last_game.complete
    AND last_game.team_game_n = numbered.last_n
  LEFT JOIN team_box_games AS window_start
    ON window_start.team_abbr = numbered.team_abbr
    AND window_start.season = numbered.season
    AND window_start.complete
    AND window_start.team_game_n = GREATEST(numbered.last_n - 10, 1)
),

-- Rule (i): the teammates considered, whose latest box-score row this season before D
-- is for T (the player himself among them when his is).
candidates AS (
  SELECT team_dates.game_id, team_dates.team_abbr, team_dates.season, appearances.player_lookup,
         appearances.created_through
  FROM team_dates
  JOIN appearances
    ON appearances.team_abbr = team_dates.team_abbr
    AND appearances.season = team_dates.season
    AND appearances.game_date < team_dates.game_date
    AND (appearances.next_row_date IS NULL OR appearances.next_row_date >= team_dates.game_date)
),

-- After each played game: the player's means over his last 5 played games this season
-- (a frame of 5 rows) and the date of his next played game.
played_form AS (
  SELECT
    player_lookup, season, team_abbr, game_date,
    LEAD(game_date) OVER player_season AS next_played_date,
    AVG(minutes) OVER (player_season ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS minutes_avg_last_5,
    AVG(usage_rate) OVER (player_season ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS usage_avg_last_5
  FROM appearances
  WHERE minutes > 0
  WINDOW player_season AS (PARTITION BY player_lookup, season ORDER BY game_date)
),

-- Rules (ii) and (iii): the form after the candidate's last played game before L, and
-- whether he played L.
rotation AS (
  SELECT
    candidates.game_id,
    candidates.team_abbr,
    candidates.player_lookup,
    form.minutes_avg_last_5,
    form.usage_avg_last_5,
    COALESCE(at_last.minutes > 0, FALSE) AS played_last_game
  FROM candidates
  JOIN last_games
    ON last_games.game_id = candidates.game_id
    AND last_games.team_abbr = candidates.team_abbr
  JOIN played_form AS form
    ON form.player_lookup = candidates.player_lookup
    AND form.season = candidates.season
    AND form.game_date < last_games.last_game_date
    AND (form.next_played_date IS NULL OR form.next_played_date >= last_games.last_game_date)
  LEFT JOIN appearances AS at_last
    ON at_last.game_id = last_games.last_game_id
    AND at_last.team_abbr = last_games.team_abbr
    AND at_last.player_lookup = candidates.player_lookup
  WHERE form.minutes_avg_last_5 >= 15
    AND form.team_abbr = candidates.team_abbr
    AND form.game_date >= last_games.rotation_window_start
),

-- Per row: the rotation teammates (not the player) who did not play L.
vacated AS (
  SELECT
    context.game_id,
    context.player_lookup,
    COUNT(*) AS rotation_teammates_out,
    SUM(CAST(ROUND(rotation.minutes_avg_last_5 * 1000000) AS INT64)) AS vacated_minutes_e6,
    SUM(CAST(ROUND(rotation.usage_avg_last_5 * rotation.minutes_avg_last_5 / 48 * 1000000) AS INT64))
      AS vacated_usage_share_e6
  FROM context
  JOIN rotation
    ON rotation.game_id = context.game_id
    AND rotation.team_abbr = context.team_abbr
    AND rotation.player_lookup != context.player_lookup
  WHERE NOT rotation.played_last_game
  GROUP BY context.game_id, context.player_lookup
),

-- The newest created_at among the teammates considered.
candidates_created AS (
  SELECT game_id, team_abbr, MAX(created_through) AS created_at
  FROM candidates
  GROUP BY game_id, team_abbr
),

-- The player's own latest row this season before D (any team): its team, and his first
-- row's date for that team.
player_history AS (
  SELECT
    context.game_id, context.player_lookup, appearances.team_abbr, appearances.first_team_row_date,
    appearances.created_through
  FROM context
  JOIN appearances
    ON appearances.player_lookup = context.player_lookup
    AND appearances.season = context.season
    AND appearances.game_date < context.game_date
    AND (appearances.next_row_date IS NULL OR appearances.next_row_date >= context.game_date)
),

-- The player in T's last 5 games before D on or after his first row this season for T
-- (only when his latest row before D is for T).
player_missed AS (
  SELECT
    context.game_id,
    context.player_lookup,
    COUNT(*) - COUNT(own.player_lookup) AS player_games_missed_last_5
  FROM context
  JOIN last_games
    ON last_games.game_id = context.game_id
    AND last_games.team_abbr = context.team_abbr
  JOIN player_history
    ON player_history.game_id = context.game_id
    AND player_history.player_lookup = context.player_lookup
    AND player_history.team_abbr = context.team_abbr
  JOIN team_box_games AS recent
    ON recent.team_abbr = context.team_abbr
    AND recent.season = context.season
    AND recent.complete
    AND recent.team_game_n BETWEEN last_games.last_n - 4 AND last_games.last_n
    AND recent.game_date >= player_history.first_team_row_date
  LEFT JOIN appearances AS own
    ON own.game_id = recent.game_id
    AND own.team_abbr = recent.team_abbr
    AND own.player_lookup = context.player_lookup
    AND own.minutes > 0
  GROUP BY context.game_id, context.player_lookup
)

SELECT
  context.game_id,
  context.game_date,
  context.player_lookup,
  context.team_abbr,
  context.season,
  context.games_played_season,
  IF(last_games.last_game_id IS NULL, NULL, COALESCE(vacated.rotation_teammates_out, 0)) AS rotation_teammates_out,
  IF(last_games.last_game_id IS NULL, NULL, COALESCE(vacated.vacated_minutes_e6, 0) / 1000000) AS vacated_minutes,
  IF(last_games.last_game_id IS NULL, NULL, COALESCE(vacated.vacated_usage_share_e6, 0) / 1000000) AS vacated_usage_share,
  IF(last_games.last_game_id IS NULL OR player_history.game_id IS NULL OR player_history.team_abbr != context.team_abbr,
     NULL, NOT COALESCE(at_last.minutes > 0, FALSE)) AS player_missed_last_game,
  IF(last_games.last_game_id IS NULL OR player_history.game_id IS NULL OR player_history.team_abbr != context.team_abbr,
     NULL, COALESCE(player_missed.player_games_missed_last_5, 0)) AS player_games_missed_last_5,
  TIMESTAMP_ADD(TIMESTAMP(context.game_date), INTERVAL 6 HOUR) AS event_timestamp,
  GREATEST(
    context.created_at,
    COALESCE(last_games.created_through, context.created_at),
    COALESCE(candidates_created.created_at, context.created_at),
    COALESCE(player_history.created_through, context.created_at)
  ) AS created_at
FROM context
LEFT JOIN last_games
  ON last_games.game_id = context.game_id
  AND last_games.team_abbr = context.team_abbr
LEFT JOIN appearances AS at_last
  ON at_last.game_id = last_games.last_game_id
  AND at_last.team_abbr = context.team_abbr
  AND at_last.player_lookup = context.player_lookup
LEFT JOIN vacated
  ON vacated.game_id = context.game_id
  AND vacated.player_lookup = context.player_lookup
LEFT JOIN candidates_created
  ON candidates_created.game_id = context.game_id
  AND candidates_created.team_abbr = context.team_abbr
LEFT JOIN player_history
  ON player_history.game_id = context.game_id
  AND player_history.player_lookup = context.player_lookup
LEFT JOIN player_missed
  ON player_missed.game_id = context.game_id
  AND player_missed.player_lookup = context.player_lookup
