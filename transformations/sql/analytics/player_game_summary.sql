-- nba_analytics.player_game_summary
--
-- Grain: one row per player per game (game_id, player_lookup), for the games dated
--        @start_date .. @end_date.
-- Reads: nba_raw.bdl_player_boxscores  the player's box score (every row in range)
--        nba_raw.team_boxscores        the team's totals, authoritative for usage rate,
--                                      joined on (game_id, team_abbr)
--        nba_raw.schedule              the season label (set by the importer with
--                                      nbafs.timeline.season_of)
--
-- usage_rate is Basketball-Reference's USG% for one game:
--   100 * (FGA + 0.44*FTA + TOV) * (team minutes / 5)
--       / (minutes * (team FGA + 0.44*team FTA + team TOV))
-- and NULL, never 0, when the player did not play (minutes = 0).
--
-- The joins are LEFT joins on purpose: a box score without team totals or without a
-- schedule row must not vanish silently. The runner checks for both before running
-- this query and stops with a message naming the row.
--
-- event_timestamp: a box score is known from 06:00 UTC the day after the game
--   (nbafs.timeline.box_score_known_at).
-- created_at: the latest created_at of the three input rows. A derived row
--   is only as old as its newest input: a late correction stays visible as late, so
--   training retrieval (which hides rows written after the time asked) never uses it
--   for earlier predictions. The wall-clock time of the run would make every rerun look
--   like new information and hide rebuilt history from training.

SELECT
  box.game_id,
  box.game_date,
  box.player_lookup,
  box.player_name,
  box.team_abbr,
  box.opponent_team_abbr,
  sched.season,
  box.minutes,
  box.points,
  box.fgm,
  box.fga,
  box.fg3m,
  box.fg3a,
  box.ftm,
  box.fta,
  box.oreb,
  box.dreb,
  box.rebounds,
  box.assists,
  box.steals,
  box.blocks,
  box.turnovers,
  box.personal_fouls,
  team.is_home,
  team.minutes AS team_minutes,
  team.fga AS team_fga,
  team.fta AS team_fta,
  team.turnovers AS team_turnovers,
  IF(
    box.minutes > 0,
    100 * (box.fga + 0.44 * box.fta + box.turnovers) * (team.minutes / 5)
      / (box.minutes * (team.fga + 0.44 * team.fta + team.turnovers)),
    NULL
  ) AS usage_rate,
  TIMESTAMP_ADD(TIMESTAMP(DATE_ADD(box.game_date, INTERVAL 1 DAY)), INTERVAL 6 HOUR) AS event_timestamp,
  GREATEST(box.created_at, team.created_at, sched.created_at) AS created_at
FROM nba_raw.bdl_player_boxscores AS box
LEFT JOIN nba_raw.team_boxscores AS team
  ON team.game_id = box.game_id
  AND team.team_abbr = box.team_abbr
LEFT JOIN nba_raw.schedule AS sched
  ON sched.game_id = box.game_id
WHERE box.game_date BETWEEN @start_date AND @end_date
