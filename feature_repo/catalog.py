"""The feature catalog: every served feature declared once, with its quality gate.

Feature views (``feature_views.py``), the model's feature service and its order
(``feature_services.py``), the quality gates the batch engine runs after every chunk
(``materialize/gates.py``), the schema preflight (which upstream columns each feature
reads) and the README's feature table are all built from these declarations.

Pure data: no Feast objects and no I/O, so any package may import it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class QualityGate:
    """What a chunk of materialized values must look like.

    - ``min_populated``: share of eligible rows with a non-NULL value, at least.
    - ``max_zero_share``: share of non-NULL values equal to 0 (or False), at most. The
      old pipeline's ``usage_spike_score`` was 0 everywhere; this is the gate that
      would have stopped it.
    - ``value_range``: every non-NULL value must lie in [low, high].
    - ``eligible_when``: a DuckDB/pandas-query condition selecting the rows where a
      value is expected (e.g. rolling features only once a player has an earlier game);
      None means every row.
    """

    min_populated: float
    max_zero_share: float | None = None
    value_range: tuple[float, float] | None = None
    eligible_when: str | None = None


# Thresholds for the features whose silent failure cost months (DESIGN.md).
# The issue asks for at least: under 10% populated fails, over 90% zeros fails.
CRITICAL_USAGE_GATE = dict(min_populated=0.90, max_zero_share=0.50)


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str  # Feast type name: Float64, Int64, Bool
    view: str  # feature view (or on-demand feature view) that serves it
    description: str
    upstream: tuple[str, ...]  # warehouse columns it is computed from, "dataset.table.column"
    gate: QualityGate | None  # None only for request-time features with no batch values
    request_time_view: str | None = None  # on-demand view that recomputes it; the service reads it there
    owner: str = "player-props@nba-feature-store"
    tags: dict[str, str] = field(default_factory=dict)


PGS = "nba_analytics.player_game_summary"
CTX = "nba_analytics.upcoming_player_game_context"
PCF = "nba_precompute.player_composite_factors"
LINES = "nba_analytics.player_points_line_consensus"
BOX = "nba_raw.bdl_player_boxscores"
TEAM = "nba_raw.team_boxscores"
ODDS = "nba_raw.odds_api_player_points_props"

_USAGE_INPUTS = (
    f"{BOX}.minutes", f"{BOX}.fga", f"{BOX}.fta", f"{BOX}.turnovers",
    f"{TEAM}.minutes", f"{TEAM}.fga", f"{TEAM}.fta", f"{TEAM}.turnovers",
)
_HAS_HISTORY = "games_played_season > 0"

FEATURES: tuple[Feature, ...] = (
    # --- per game, from player_game_summary (the player's most recent game) ------------
    Feature(
        "usage_rate", "Float64", "player_game_summary",
        "Usage rate of the player's most recent game (NULL when he did not play)",
        (f"{PGS}.usage_rate",) + _USAGE_INPUTS,
        QualityGate(value_range=(0.0, 300.0), eligible_when="minutes > 0", **CRITICAL_USAGE_GATE),
    ),
    # --- upcoming game context ----------------------------------------------------------
    Feature(
        "points_avg_last_5", "Float64", "upcoming_player_game_context",
        "Mean points over the last 5 games played before the game",
        (f"{CTX}.points_avg_last_5", f"{PGS}.points", f"{PGS}.minutes"),
        QualityGate(min_populated=0.90, max_zero_share=0.50, value_range=(0, 100), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "points_avg_last_10", "Float64", "upcoming_player_game_context",
        "Mean points over the last 10 games played before the game",
        (f"{CTX}.points_avg_last_10", f"{PGS}.points", f"{PGS}.minutes"),
        QualityGate(min_populated=0.90, max_zero_share=0.50, value_range=(0, 100), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "minutes_avg_last_7", "Float64", "upcoming_player_game_context",
        "Mean minutes over the last 7 games played before the game",
        (f"{CTX}.minutes_avg_last_7", f"{PGS}.minutes"),
        QualityGate(min_populated=0.90, max_zero_share=0.10, value_range=(0, 70), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "games_played_season", "Int64", "upcoming_player_game_context",
        "Games played (minutes > 0) this season before the game",
        (f"{CTX}.games_played_season", f"{PGS}.minutes"),
        QualityGate(min_populated=1.0, value_range=(0, 90)),
    ),
    Feature(
        "days_rest", "Int64", "upcoming_player_game_context",
        "Days between the team's previous game and this one, minus one (0 on a back-to-back)",
        (f"{CTX}.days_rest", "nba_raw.schedule.game_date"),
        QualityGate(min_populated=0.90, value_range=(0, 200), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "is_back_to_back", "Bool", "upcoming_player_game_context",
        "The team played the day before",
        (f"{CTX}.is_back_to_back", "nba_raw.schedule.game_date"),
        QualityGate(min_populated=0.90, eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "is_home", "Bool", "upcoming_player_game_context",
        "The game is at home",
        (f"{CTX}.is_home", "nba_raw.schedule.home_team_abbr"),
        QualityGate(min_populated=1.0),
    ),
    Feature(
        "avg_usage_rate_last_7_games", "Float64", "upcoming_player_game_context",
        "Mean usage_rate over the player's last 7 games played before the game",
        (f"{CTX}.avg_usage_rate_last_7_games", f"{PGS}.usage_rate") + _USAGE_INPUTS,
        QualityGate(value_range=(0.0, 300.0), eligible_when=_HAS_HISTORY, **CRITICAL_USAGE_GATE),
    ),
    Feature(
        "usage_spike_score", "Float64", "player_composite_factors",
        "avg_usage_rate_last_7_games / season_usage_rate: about 1 for a steady player. Materialized "
        "from the batch SQL; the feature service recomputes it at request time from the served "
        "usage features (on-demand view usage_spike), and a test holds the two equal",
        (f"{PCF}.usage_spike_score", f"{CTX}.avg_usage_rate_last_7_games", f"{PCF}.season_usage_rate",
         f"{PGS}.usage_rate") + _USAGE_INPUTS,
        QualityGate(value_range=(0.0, 20.0), eligible_when=_HAS_HISTORY, **CRITICAL_USAGE_GATE),
        request_time_view="usage_spike",
    ),
    Feature(
        "season_usage_rate", "Float64", "player_composite_factors",
        "Usage formula on season-to-date totals before the game (Basketball-Reference USG%)",
        # The SQL sums the player's games that have a usage_rate, so it depends on that column too.
        (f"{PCF}.season_usage_rate", f"{PGS}.usage_rate") + _USAGE_INPUTS,
        QualityGate(value_range=(0.0, 300.0), eligible_when=_HAS_HISTORY, **CRITICAL_USAGE_GATE),
    ),
    Feature(
        "opponent_def_rating", "Float64", "upcoming_player_game_context",
        "Opponent points allowed per 100 possessions, season to date before the game",
        (f"{CTX}.opponent_def_rating", f"{TEAM}.points", f"{TEAM}.fga", f"{TEAM}.fta",
         f"{TEAM}.oreb", f"{TEAM}.turnovers"),
        # NULL while the opponent has no earlier game (a season's first days): judged from
        # the player's third game on, when his opponent has (almost always) played too.
        QualityGate(min_populated=0.50, max_zero_share=0.01, value_range=(60, 160),
                    eligible_when="games_played_season >= 3"),
    ),
    Feature(
        "points_line", "Float64", "player_points_line",
        "Consensus (median across books) points line at the latest snapshot before the time asked",
        (f"{LINES}.points_line", f"{ODDS}.points_line", f"{ODDS}.snapshot_at", f"{ODDS}.created_at"),
        # Lines exist only for players the books quote: no populated minimum.
        QualityGate(min_populated=0.0, max_zero_share=0.01, value_range=(0.5, 80)),
    ),
    Feature(
        "points_avg_season", "Float64", "upcoming_player_game_context",
        "Mean points over the season's games played before the game",
        (f"{CTX}.points_avg_season", f"{PGS}.points", f"{PGS}.minutes"),
        QualityGate(min_populated=0.90, max_zero_share=0.50, value_range=(0, 100), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "points_form_ratio", "Float64", "player_composite_factors",
        "points_avg_last_5 / points_avg_season",
        (f"{PCF}.points_form_ratio", f"{PGS}.points"),
        QualityGate(min_populated=0.50, max_zero_share=0.50, value_range=(0, 50), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "minutes_form_ratio", "Float64", "player_composite_factors",
        "minutes_avg_last_7 / season minutes per game played",
        (f"{PCF}.minutes_form_ratio", f"{PGS}.minutes"),
        QualityGate(min_populated=0.90, max_zero_share=0.10, value_range=(0, 50), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "points_avg_last_5_minus_line", "Float64", "line_relative",
        "points_avg_last_5 minus the line offered at request time (request field line_offered); "
        "NULL when no line is offered",
        (f"{CTX}.points_avg_last_5", "request.line_offered"),
        None,
    ),
)

# The model's feature service, in its fixed order. The old system stored features as an
# array with features[8] = usage_spike_score; the order keeps it there.
PLAYER_POINTS_V1: tuple[str, ...] = (
    "points_avg_last_5",            # 0
    "points_avg_last_10",           # 1
    "minutes_avg_last_7",           # 2
    "games_played_season",          # 3
    "days_rest",                    # 4
    "is_back_to_back",              # 5
    "is_home",                      # 6
    "avg_usage_rate_last_7_games",  # 7
    "usage_spike_score",            # 8
    "season_usage_rate",            # 9
    "opponent_def_rating",          # 10
    "points_line",                  # 11
    "usage_rate",                   # 12
    "points_avg_season",            # 13
    "points_form_ratio",            # 14
    "minutes_form_ratio",           # 15
    "points_avg_last_5_minus_line", # 16
)
assert PLAYER_POINTS_V1[8] == "usage_spike_score"


def feature(name: str) -> Feature:
    for f in FEATURES:
        if f.name == name:
            return f
    raise KeyError(f"no feature {name!r} in feature_repo/catalog.py")


ON_DEMAND_VIEWS = ("usage_spike", "line_relative")


def features_of_view(view: str) -> list[Feature]:
    return [f for f in FEATURES if f.view == view]
