"""Usage on the real 2025-26 season agrees with Basketball-Reference, and usage_spike_score is sane.

The real folder is imported and transformed once per session (``real_warehouse``).
Protected:
- player_game_summary + team_boxscores reproduce B-Ref's season USG% through
  2026-03-28 within 0.5 points for every single-team player with >= 500 minutes
  (player's sums over his games, team's sums over ALL its games);
- the SQL's own season_usage_rate (player_composite_factors, season to date before a
  game) gives the same figure on each team's first game after 2026-03-28;
- usage_spike_score over the backfill window 2025-11-13 .. 2026-01-30 averages
  0.9 .. 1.1 and is never 0 (nor NULL) where both its inputs are present (the old
  pipeline's bug).
"""
from __future__ import annotations

import pandas as pd
import pytest

from warehouse.names import player_lookup
from warehouse.storage import connect

pytestmark = pytest.mark.real_data

THROUGH = "2026-03-28"

SEASON_USAGE_SQL = f"""
WITH player AS (
  SELECT player_lookup, COUNT(DISTINCT team_abbr) AS teams, ANY_VALUE(team_abbr) AS team_abbr,
         SUM(fga) AS fga, SUM(fta) AS fta, SUM(turnovers) AS tov, SUM(minutes) AS mp
  FROM nba_analytics.player_game_summary
  WHERE game_date <= DATE '{THROUGH}' AND minutes > 0
  GROUP BY player_lookup
),
team AS (
  SELECT team_abbr, SUM(minutes) AS tm_min, SUM(fga) AS tm_fga, SUM(fta) AS tm_fta, SUM(turnovers) AS tm_tov
  FROM nba_raw.team_boxscores
  WHERE game_date <= DATE '{THROUGH}'
  GROUP BY team_abbr
)
SELECT player.player_lookup, player.team_abbr, player.mp,
       100 * (fga + 0.44 * fta + tov) * (tm_min / 5) / (mp * (tm_fga + 0.44 * tm_fta + tm_tov)) AS usg
FROM player JOIN team USING (team_abbr)
WHERE teams = 1
"""

# The SQL's season_usage_rate on each player's first context row after THROUGH, if his
# team played no game in between: season to date before it = through THROUGH.
SQL_SEASON_USAGE_AFTER = f"""
SELECT f.player_lookup, f.season_usage_rate
FROM nba_precompute.player_composite_factors AS f
JOIN nba_analytics.upcoming_player_game_context AS c USING (game_id, player_lookup)
WHERE f.game_date > DATE '{THROUGH}'
  AND f.game_date - CAST(c.days_rest + 1 AS INTEGER) <= DATE '{THROUGH}'
QUALIFY ROW_NUMBER() OVER (PARTITION BY f.player_lookup ORDER BY f.game_date) = 1
"""


@pytest.fixture(scope="module")
def bref(real_data) -> pd.DataFrame:
    b = pd.read_csv(real_data / f"bref_player_advanced_through_{THROUGH}.csv")
    b = b[b.Player.notna() & (b.Player != "League Average")].copy()
    b["player_lookup"] = b.Player.map(player_lookup)
    traded = set(b[b.Team.str.fullmatch(r"\dTM")].player_lookup)
    return b[~b.player_lookup.isin(traded) & (b.MP >= 500)]


def test_season_usage_matches_bref_for_single_team_players(real_warehouse, bref):
    con = connect()
    ours = con.sql(SEASON_USAGE_SQL).df()
    m = bref.merge(ours, on="player_lookup", how="left")
    unmatched = m[m.usg.isna()].Player.tolist()
    assert len(unmatched) <= 5, f"B-Ref names not found in player_game_summary: {unmatched}"
    m = m[m.usg.notna()]
    assert len(m) >= 300
    m["diff"] = (m["USG%"] - m.usg).abs()
    worst = m.sort_values("diff").tail(5)[["Player", "USG%", "usg"]].to_string()
    assert m["diff"].max() <= 0.5, f"usage differs from B-Ref by more than 0.5 points:\n{worst}"
    assert m["diff"].median() <= 0.2


def test_sql_season_usage_rate_is_the_bref_figure_season_to_date(real_warehouse, bref):
    con = connect()
    ours = con.sql(SQL_SEASON_USAGE_AFTER).df()
    m = bref.merge(ours, on="player_lookup")
    assert len(m) >= 250
    m["diff"] = (m["USG%"] - m.season_usage_rate).abs()
    worst = m.sort_values("diff").tail(5)[["Player", "USG%", "season_usage_rate"]].to_string()
    assert m["diff"].max() <= 0.5, f"season_usage_rate differs from B-Ref by more than 0.5 points:\n{worst}"


def test_usage_spike_score_over_the_backfill_window(real_warehouse):
    con = connect()
    s = con.sql("""
        SELECT f.usage_spike_score, f.season_usage_rate, c.avg_usage_rate_last_7_games
        FROM nba_precompute.player_composite_factors AS f
        JOIN nba_analytics.upcoming_player_game_context AS c USING (game_id, player_lookup)
        WHERE f.game_date BETWEEN DATE '2025-11-13' AND DATE '2026-01-30'
    """).df()
    # Both inputs present (season usage 0 means no plays yet: the ratio is undefined, NULL).
    both = (s.season_usage_rate > 0) & s.avg_usage_rate_last_7_games.notna()
    assert both.mean() > 0.9
    spikes = s[both].usage_spike_score
    assert spikes.notna().all()
    assert (spikes != 0).all()
    assert 0.9 <= spikes.mean() <= 1.1
    # Played player-games of the window all have a usage_rate.
    missing = con.sql("""
        SELECT COUNT(*) FROM nba_analytics.player_game_summary
        WHERE game_date BETWEEN DATE '2025-11-13' AND DATE '2026-01-30' AND minutes > 0 AND usage_rate IS NULL
    """).fetchall()[0][0]
    assert missing == 0
