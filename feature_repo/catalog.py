"""The feature catalog: every served feature declared once, with its quality gate.

Feature views (``feature_views.py``), the model's feature service and its order
(``feature_services.py``), the quality gates the batch engine runs after every chunk
(``materialize/gates.py``), the schema preflight (which upstream columns each feature
reads) and the README's feature table are all built from these declarations.

Pure data: no Feast objects and no I/O, so any package may import it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from warehouse.markets import MARKETS, POINTS, STATS, Market


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
    all_null_when: str | None = None  # when it is honestly NULL in every row (training does not refuse it then)
    owner: str = "player-props@nba-feature-store"
    tags: dict[str, str] = field(default_factory=dict)


PGS = "nba_analytics.player_game_summary"
FORM = "nba_analytics.player_stat_form"
AVAIL = "nba_analytics.player_availability"
PRIOR = "nba_analytics.player_season_prior"
PROP_LINES = "nba_analytics.player_prop_lines"
PROPS = "nba_raw.odds_api_player_props"
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

# --- per-market form (player_stat_form), generated for every market stat ----------------

def _stat_inputs(stat: str) -> tuple[str, ...]:
    m = next(m for m in MARKETS if m.stat == stat)
    return tuple(f"{PGS}.{c}" for c in m.box_score) + (f"{PGS}.minutes",)


def _stat_form_features() -> tuple[Feature, ...]:
    out: list[Feature] = []
    for stat in STATS:
        inputs = _stat_inputs(stat)
        if stat != POINTS.stat:  # points' means are upcoming_player_game_context's (above)
            for window, n in (("last_5", 5), ("last_10", 10)):
                out.append(Feature(
                    f"{stat}_avg_{window}", "Float64", "player_stat_form",
                    f"Mean {stat} over the last {n} games played before the game",
                    (f"{FORM}.{stat}_avg_{window}",) + inputs,
                    QualityGate(min_populated=0.90, value_range=(0, 100), eligible_when=_HAS_HISTORY),
                ))
            out.append(Feature(
                f"{stat}_avg_season", "Float64", "player_stat_form",
                f"Mean {stat} over the season's games played before the game",
                (f"{FORM}.{stat}_avg_season",) + inputs,
                QualityGate(min_populated=0.90, value_range=(0, 100), eligible_when=_HAS_HISTORY),
            ))
        out += [
            Feature(
                f"{stat}_per_minute_last_10", "Float64", "player_stat_form",
                f"{stat} per minute over the last 10 games played before the game (sum of {stat} / sum of minutes)",
                (f"{FORM}.{stat}_per_minute_last_10",) + inputs,
                QualityGate(min_populated=0.90, value_range=(0, 10), eligible_when=_HAS_HISTORY),
            ),
            Feature(
                f"{stat}_std_last_10", "Float64", "player_stat_form",
                f"Standard deviation of {stat} over the last 10 games played before the game (NULL with fewer than 2)",
                (f"{FORM}.{stat}_std_last_10",) + inputs,
                QualityGate(min_populated=0.80, value_range=(0, 60), eligible_when="games_played_season >= 2"),
            ),
            Feature(
                f"opponent_{stat}_allowed_avg_season", "Float64", "player_stat_form",
                f"Mean {stat} the opponent allowed per game (summed over the players facing it), season to date "
                "before the game",
                (f"{FORM}.opponent_{stat}_allowed_avg_season",) + inputs + (f"{PGS}.team_abbr", f"{PGS}.opponent_team_abbr"),
                QualityGate(min_populated=0.50, max_zero_share=0.01, value_range=(0, 400),
                            eligible_when="games_played_season >= 3"),
            ),
        ]
    out += [
        Feature(
            "minutes_avg_last_3", "Float64", "player_stat_form",
            "Mean minutes over the last 3 games played before the game",
            (f"{FORM}.minutes_avg_last_3", f"{PGS}.minutes"),
            QualityGate(min_populated=0.90, max_zero_share=0.10, value_range=(0, 70), eligible_when=_HAS_HISTORY),
        ),
        Feature(
            "minutes_std_last_10", "Float64", "player_stat_form",
            "Standard deviation of minutes over the last 10 games played before the game (NULL with fewer than 2)",
            (f"{FORM}.minutes_std_last_10", f"{PGS}.minutes"),
            QualityGate(min_populated=0.80, value_range=(0, 40), eligible_when="games_played_season >= 2"),
        ),
    ]
    return tuple(out)


# --- availability (player_availability): proxies for the injury report ----------------

_AVAILABILITY_INPUTS = (f"{PGS}.minutes", f"{PGS}.team_abbr", f"{PGS}.team_minutes", f"{PGS}.usage_rate",
                        "nba_raw.schedule.game_date")
AVAILABILITY_FEATURES: tuple[Feature, ...] = (
    Feature(
        "rotation_teammates_out", "Int64", "player_availability",
        "Teammates of the team's recent rotation who did not play its last game (a proxy for the injury "
        "report, which the data lacks); NULL before the team's first game this season",
        (f"{AVAIL}.rotation_teammates_out",) + _AVAILABILITY_INPUTS,
        QualityGate(min_populated=0.90, value_range=(0, 15), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "vacated_minutes", "Float64", "player_availability",
        "Recent minutes per game of the rotation teammates who missed the team's last game (0 when none)",
        (f"{AVAIL}.vacated_minutes",) + _AVAILABILITY_INPUTS,
        # A rotation of ~10 sitting out at once (rest nights in April) reaches ~220 on the real season.
        QualityGate(min_populated=0.90, value_range=(0, 480), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "vacated_usage_share", "Float64", "player_availability",
        "Percent of the team's possessions those teammates used per game in their recent games (usage x "
        "minutes / 48; 0 when none is out)",
        (f"{AVAIL}.vacated_usage_share",) + _AVAILABILITY_INPUTS,
        # Over 100 when most of a rotation sits at once (108 on the real season, 2026-04-03 MIL).
        QualityGate(min_populated=0.90, value_range=(0, 200), eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "player_missed_last_game", "Bool", "player_availability",
        "The player did not play his team's last game; NULL before his first box-score row this season",
        (f"{AVAIL}.player_missed_last_game",) + _AVAILABILITY_INPUTS,
        QualityGate(min_populated=0.90, eligible_when=_HAS_HISTORY),
    ),
    Feature(
        "player_games_missed_last_5", "Int64", "player_availability",
        "Of his team's last 5 games since his first box-score row this season, how many he did not play",
        (f"{AVAIL}.player_games_missed_last_5",) + _AVAILABILITY_INPUTS,
        QualityGate(min_populated=0.90, value_range=(0, 5), eligible_when=_HAS_HISTORY),
    ),
)


# --- the previous season (player_season_prior): what a young season cannot say yet ------

# NULL in a warehouse's first season (no box score of the season before), and for players who
# did not play it: the means are judged only where he played games last season.
_PLAYED_PREV_SEASON = "games_played_prev_season > 0"
_NO_PREV_SEASON = "the warehouse holds no box score of the previous season (its first season)"


def _season_prior_features() -> tuple[Feature, ...]:
    out = [
        Feature(
            "games_played_prev_season", "Int64", "player_season_prior",
            "Games the player played (minutes > 0) in the previous season; 0 when he played none of it, NULL "
            "when the warehouse holds no box score of that season",
            (f"{PRIOR}.games_played_prev_season", f"{PGS}.minutes", f"{PGS}.season"),
            # All NULL in a warehouse's first season: no populated minimum. A whole league of
            # newcomers is not a league (most players return): 0 nearly everywhere is the bug.
            QualityGate(min_populated=0.0, max_zero_share=0.90, value_range=(0, 90)),
            all_null_when=_NO_PREV_SEASON,
        ),
        Feature(
            "minutes_avg_prev_season", "Float64", "player_season_prior",
            "Mean minutes over the player's played games of the previous season",
            (f"{PRIOR}.minutes_avg_prev_season", f"{PGS}.minutes", f"{PGS}.season"),
            QualityGate(min_populated=0.90, max_zero_share=0.10, value_range=(0, 70), eligible_when=_PLAYED_PREV_SEASON),
            all_null_when=_NO_PREV_SEASON,
        ),
    ]
    for stat in STATS:
        out.append(Feature(
            f"{stat}_avg_prev_season", "Float64", "player_season_prior",
            f"Mean {stat} over the player's played games of the previous season",
            (f"{PRIOR}.{stat}_avg_prev_season", f"{PGS}.season") + _stat_inputs(stat),
            QualityGate(min_populated=0.90, value_range=(0, 100), eligible_when=_PLAYED_PREV_SEASON),
            all_null_when=_NO_PREV_SEASON,
        ))
    out.append(Feature(
        "usage_rate_prev_season", "Float64", "player_season_prior",
        "Usage formula on the previous season's totals (his and his teams', per team he played for), as "
        "season_usage_rate",
        (f"{PRIOR}.usage_rate_prev_season", f"{PGS}.usage_rate", f"{PGS}.season") + _USAGE_INPUTS,
        QualityGate(value_range=(0.0, 300.0), eligible_when=_PLAYED_PREV_SEASON, **CRITICAL_USAGE_GATE),
        all_null_when=_NO_PREV_SEASON,
    ))
    return tuple(out)


SEASON_PRIOR_FEATURES: tuple[Feature, ...] = _season_prior_features()


# --- every market's line (player_prop_lines) ---------------------------------------------

def _line_features() -> tuple[Feature, ...]:
    out: list[Feature] = []
    for m in MARKETS:
        raw = f"{ODDS}.points_line" if m is POINTS else f"{PROPS}.line"
        source = (raw, f"{ODDS if m is POINTS else PROPS}.snapshot_at")
        if m is not POINTS:  # points_line is served from player_points_line (its push source)
            out.append(Feature(
                m.line_feature, "Float64", "player_prop_lines",
                f"Consensus (median across books) {m.label} line at the latest snapshot before the time asked",
                (f"{PROP_LINES}.{m.line_feature}",) + source,
                QualityGate(min_populated=0.0, max_zero_share=0.01, value_range=(0.5, 120)),
            ))
        out.append(Feature(
            m.over_prob_feature, "Float64", "player_prop_lines",
            f"No-vig probability of the {m.label} over at the consensus line, from the books' prices at the "
            "latest snapshot before the time asked",
            (f"{PROP_LINES}.{m.over_prob_feature}",) + source
            + (f"{ODDS if m is POINTS else PROPS}.over_price", f"{ODDS if m is POINTS else PROPS}.under_price"),
            QualityGate(min_populated=0.0, max_zero_share=0.01, value_range=(0.0, 1.0)),
        ))
    return tuple(out)


FEATURES = FEATURES + _stat_form_features() + AVAILABILITY_FEATURES + SEASON_PRIOR_FEATURES + _line_features()

AVAILABILITY: tuple[str, ...] = tuple(f.name for f in AVAILABILITY_FEATURES)

# The points model's feature service, in its fixed order. The old system stored features
# as an array with features[8] = usage_spike_score; the order keeps it there. Features
# added since (17 on) are appended, so every earlier index stays what it was.
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
    "points_per_minute_last_10",    # 17
    "points_std_last_10",           # 18
    "opponent_points_allowed_avg_season",  # 19
    "minutes_avg_last_3",           # 20
    "minutes_std_last_10",          # 21
    *AVAILABILITY,                  # 22..26
    "points_over_prob_no_vig",      # 27
    "games_played_prev_season",     # 28
    "minutes_avg_prev_season",      # 29
    "points_avg_prev_season",       # 30
    "usage_rate_prev_season",       # 31
)
assert PLAYER_POINTS_V1[8] == "usage_spike_score" and PLAYER_POINTS_V1[22:27] == AVAILABILITY

# What every other market's service shares after its own stat's features.
_CONTEXT: tuple[str, ...] = (
    "minutes_avg_last_7", "minutes_avg_last_3", "minutes_std_last_10", "minutes_form_ratio",
    "games_played_season", "days_rest", "is_back_to_back", "is_home",
    "avg_usage_rate_last_7_games", "usage_spike_score", "season_usage_rate", "opponent_def_rating",
)


def market_order(m: Market) -> tuple[str, ...]:
    """The fixed order of a market's service: its stat's form, the shared context, availability, its line,
    then the previous season's figures (appended later, so the earlier indices stay)."""
    if m is POINTS:
        return PLAYER_POINTS_V1
    s = m.stat
    return (
        f"{s}_avg_last_5", f"{s}_avg_last_10", f"{s}_avg_season", f"{s}_per_minute_last_10", f"{s}_std_last_10",
        f"opponent_{s}_allowed_avg_season",
    ) + _CONTEXT + AVAILABILITY + (m.line_feature, m.over_prob_feature) + (
        "games_played_prev_season", "minutes_avg_prev_season", f"{s}_avg_prev_season",
    )


SERVICES: dict[str, tuple[str, ...]] = {m.service: market_order(m) for m in MARKETS}
"""Every feature service and its fixed order, by service name: one per market (warehouse/markets.py)."""

SERVICE_MARKETS: dict[str, Market] = {m.service: m for m in MARKETS}


def line_features(m: Market) -> tuple[str, ...]:
    """A market's line features: served, shown and evaluated against, never learned from (model/dataset.py)."""
    extra = ("points_avg_last_5_minus_line",) if m is POINTS else ()
    return (m.line_feature, m.over_prob_feature) + extra


def feature(name: str) -> Feature:
    for f in FEATURES:
        if f.name == name:
            return f
    raise KeyError(f"no feature {name!r} in feature_repo/catalog.py")


ON_DEMAND_VIEWS = ("usage_spike", "line_relative")


def features_of_view(view: str) -> list[Feature]:
    return [f for f in FEATURES if f.view == view]
