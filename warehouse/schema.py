"""Every warehouse table, declared once.

These declarations are the single source of truth for the tables' columns: the local
parquet tables are written and validated against them, the BigQuery DDL is generated
from them (``warehouse.ddl``), the schema preflight checks sources against them and the
docs table in the README is printed from them (``nbafs schema --markdown``).

Types are BigQuery's (the production truth); ``ARROW_TYPES`` and ``DUCKDB_TYPES`` map
them for the embedded warehouse. Every table is partitioned by ``game_date``.

Time columns (see DESIGN.md, "Time semantics"):
- ``created_at``: when the row was written. Training retrieval never sees a row before it.
- ``event_timestamp`` (analytics and precompute tables): when the row's facts became
  known: 06:00 UTC the day after the game for a box score, 06:00 UTC on the game date
  for a row describing an upcoming game (built only from earlier games), the snapshot
  time for a betting line.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from warehouse.markets import MARKETS, STATS, STORED_ONLY

ARROW_TYPES: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "INT64": pa.int64(),
    "FLOAT64": pa.float64(),
    "BOOL": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
}

DUCKDB_TYPES: dict[str, str] = {
    "STRING": "VARCHAR",
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "BOOL": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMPTZ",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    description: str
    min_value: float | None = None  # validated lower bound for numbers (e.g. 0 for counts)

    def __post_init__(self) -> None:
        if self.type not in ARROW_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}; expected one of {sorted(ARROW_TYPES)}")


@dataclass(frozen=True)
class Table:
    dataset: str
    name: str
    grain: tuple[str, ...]
    description: str
    columns: tuple[Column, ...]
    partition_by: str = "game_date"
    event_timestamp: str | None = None  # the column Feast uses as the event time, if a Feast source

    @property
    def fqn(self) -> str:
        return f"{self.dataset}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.fqn} has no column {name!r}; it has {', '.join(self.column_names)}")

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in self.columns])


def _count(name: str, description: str, nullable: bool = True) -> Column:
    return Column(name, "INT64", nullable, description, min_value=0)


# --- shared column groups -------------------------------------------------------------

GAME_KEYS = (
    Column("game_id", "STRING", False, "Game identifier (NBA.com style, e.g. 0022500001)"),
    Column("game_date", "DATE", False, "US/Eastern calendar date of the game"),
)

BOX_SCORE_STATS = (
    Column("minutes", "FLOAT64", False, "Minutes played, decimal (0 when the player did not play)", min_value=0),
    _count("points", "Points scored; NULL when the source lost it (never filled with 0)"),
    _count("fgm", "Field goals made"),
    _count("fga", "Field goals attempted"),
    _count("fg3m", "Three-pointers made"),
    _count("fg3a", "Three-pointers attempted"),
    _count("ftm", "Free throws made"),
    _count("fta", "Free throws attempted"),
    _count("oreb", "Offensive rebounds"),
    _count("dreb", "Defensive rebounds"),
    _count("rebounds", "Total rebounds"),
    _count("assists", "Assists"),
    _count("steals", "Steals"),
    _count("blocks", "Blocks"),
    _count("turnovers", "Turnovers"),
    _count("personal_fouls", "Personal fouls"),
)

PLAYER_LOOKUP = Column("player_lookup", "STRING", False, "Normalized player name")
GAMES_PLAYED_SEASON = Column("games_played_season", "INT64", False,
                             "Games played (minutes > 0) this season before the game", min_value=0)
CREATED_AT = Column("created_at", "TIMESTAMP", False, "When the row was written; retrieval never sees a row before it")
EVENT_TS_BOX = Column("event_timestamp", "TIMESTAMP", False, "When the facts became known: 06:00 UTC the day after game_date")
EVENT_TS_UPCOMING = Column(
    "event_timestamp", "TIMESTAMP", False,
    "When the row became known: 06:00 UTC on game_date (built only from earlier games)",
)

# --- nba_raw --------------------------------------------------------------------------

BDL_PLAYER_BOXSCORES = Table(
    dataset="nba_raw",
    name="bdl_player_boxscores",
    grain=("game_id", "player_lookup"),
    description="One row per player per game: the player's box score as upstream scraped it.",
    columns=GAME_KEYS + (
        Column("player_lookup", "STRING", False, "Normalized player name: lower case letters and digits only"),
        Column("player_name", "STRING", False, "Player name as the source spells it"),
        Column("team_abbr", "STRING", False, "Player's team, three-letter code"),
        Column("opponent_team_abbr", "STRING", False, "Opponent team, three-letter code"),
    ) + BOX_SCORE_STATS + (
        Column("source", "STRING", False, "Which importer wrote the row (realgm, nbacom, sample)"),
        CREATED_AT,
    ),
)

TEAM_BOXSCORES = Table(
    dataset="nba_raw",
    name="team_boxscores",
    grain=("game_id", "team_abbr"),
    description="One row per team per game: the team's totals (authoritative for usage rate).",
    columns=GAME_KEYS + (
        Column("team_abbr", "STRING", False, "Team, three-letter code"),
        Column("opponent_team_abbr", "STRING", False, "Opponent, three-letter code"),
        Column("is_home", "BOOL", False, "True for the home team"),
        Column("minutes", "FLOAT64", False, "Team minutes (sum of player minutes: 240 in regulation)", min_value=0),
        _count("points", "Team points", nullable=False),
        _count("fgm", "Field goals made"),
        _count("fga", "Field goals attempted", nullable=False),
        _count("fta", "Free throws attempted", nullable=False),
        _count("ftm", "Free throws made"),
        _count("turnovers", "Turnovers", nullable=False),
        _count("oreb", "Offensive rebounds", nullable=False),
        _count("dreb", "Defensive rebounds"),
        Column("source", "STRING", False, "Which importer wrote the row"),
        CREATED_AT,
    ),
)

SCHEDULE = Table(
    dataset="nba_raw",
    name="schedule",
    grain=("game_id",),
    description="One row per game: who plays whom, where, when.",
    columns=GAME_KEYS + (
        Column("season", "STRING", False, "Season label, e.g. 2025-26"),
        Column("home_team_abbr", "STRING", False, "Home team"),
        Column("away_team_abbr", "STRING", False, "Away team"),
        Column("tipoff_at", "TIMESTAMP", True, "Tip-off time in UTC; NULL when unknown"),
        CREATED_AT,
    ),
)

ODDS_API_PLAYER_POINTS_PROPS = Table(
    dataset="nba_raw",
    name="odds_api_player_points_props",
    grain=("game_id", "player_lookup", "bookmaker", "snapshot_at"),
    description="One row per player, game, sportsbook and snapshot: the points line offered.",
    columns=GAME_KEYS + (
        PLAYER_LOOKUP,
        Column("player_name", "STRING", False, "Player name as the sportsbook spells it"),
        Column("bookmaker", "STRING", False, "Sportsbook key, e.g. draftkings"),
        Column("points_line", "FLOAT64", False, "Points line (over/under threshold)", min_value=0),
        Column("over_price", "FLOAT64", True, "American odds for the over"),
        Column("under_price", "FLOAT64", True, "American odds for the under"),
        Column("snapshot_at", "TIMESTAMP", False, "When the line was seen: the line is known from then"),
        CREATED_AT,
    ),
)

ODDS_API_PLAYER_PROPS = Table(
    dataset="nba_raw",
    name="odds_api_player_props",
    grain=("game_id", "player_lookup", "market", "bookmaker", "snapshot_at"),
    description=(
        "One row per player, game, prop market, sportsbook and snapshot: every Odds API market but "
        "points, whose lines stay in odds_api_player_points_props (the upstream contract)."
    ),
    columns=GAME_KEYS + (
        PLAYER_LOOKUP,
        Column("player_name", "STRING", False, "Player name as the sportsbook spells it"),
        Column("market", "STRING", False,
               "Odds API market key (warehouse/markets.py): player_rebounds, player_assists, player_threes, "
               "player_points_rebounds_assists, or one stored only: " + ", ".join(STORED_ONLY)),
        Column("bookmaker", "STRING", False, "Sportsbook key, e.g. draftkings"),
        Column("line", "FLOAT64", True, "Over/under threshold; NULL for yes/no markets (double-double, triple-double)",
               min_value=0),
        Column("over_price", "FLOAT64", True, "American odds for the over (yes); NULL when the file has none"),
        Column("under_price", "FLOAT64", True, "American odds for the under (no); NULL when the file has none"),
        Column("snapshot_at", "TIMESTAMP", False, "When the line was seen: the line is known from then"),
        CREATED_AT,
    ),
)

# --- nba_analytics --------------------------------------------------------------------

PLAYER_GAME_SUMMARY = Table(
    dataset="nba_analytics",
    name="player_game_summary",
    grain=("game_id", "player_lookup"),
    description="One row per player per game: box score, team totals and usage rate.",
    event_timestamp="event_timestamp",
    columns=GAME_KEYS + (
        PLAYER_LOOKUP,
        Column("player_name", "STRING", False, "Player name"),
        Column("team_abbr", "STRING", False, "Player's team"),
        Column("opponent_team_abbr", "STRING", False, "Opponent"),
        Column("season", "STRING", False, "Season label, e.g. 2025-26"),
    ) + BOX_SCORE_STATS + (
        Column("is_home", "BOOL", False, "Player's team played at home"),
        Column("team_minutes", "FLOAT64", False, "Team minutes in the game"),
        Column("team_fga", "INT64", False, "Team field goals attempted"),
        Column("team_fta", "INT64", False, "Team free throws attempted"),
        Column("team_turnovers", "INT64", False, "Team turnovers"),
        Column(
            "usage_rate", "FLOAT64", True,
            "100*(FGA+0.44*FTA+TOV)*(team minutes/5)/(minutes*(team FGA+0.44*team FTA+team TOV)); "
            "NULL, never 0, when the player did not play",
            min_value=0,
        ),
        EVENT_TS_BOX,
        CREATED_AT,
    ),
)

UPCOMING_PLAYER_GAME_CONTEXT = Table(
    dataset="nba_analytics",
    name="upcoming_player_game_context",
    grain=("game_id", "player_lookup"),
    description=(
        "One row per player per game of his team (past games for training, the next one for "
        "prediction): rolling form and schedule context built only from earlier games."
    ),
    event_timestamp="event_timestamp",
    columns=GAME_KEYS + (
        PLAYER_LOOKUP,
        Column("team_abbr", "STRING", False, "Player's team"),
        Column("opponent_team_abbr", "STRING", False, "Opponent"),
        Column("season", "STRING", False, "Season label"),
        Column("is_home", "BOOL", False, "The upcoming game is at home"),
        GAMES_PLAYED_SEASON,
        Column("days_rest", "INT64", True, "Days since the team's previous game minus one; NULL for its first game", min_value=0),
        Column("is_back_to_back", "BOOL", True, "The team played the day before; NULL for its first game"),
        Column("points_avg_last_5", "FLOAT64", True, "Mean points over the last 5 games played before the game", min_value=0),
        Column("points_avg_last_10", "FLOAT64", True, "Mean points over the last 10 games played before the game", min_value=0),
        Column("minutes_avg_last_7", "FLOAT64", True, "Mean minutes over the last 7 games played before the game", min_value=0),
        Column("avg_usage_rate_last_7_games", "FLOAT64", True, "Mean usage_rate over the last 7 games played before the game", min_value=0),
        Column("points_avg_season", "FLOAT64", True, "Mean points over the season's games played before the game", min_value=0),
        Column("opponent_def_rating", "FLOAT64", True, "Opponent points allowed per 100 possessions, season to date before the game", min_value=0),
        EVENT_TS_UPCOMING,
        CREATED_AT,
    ),
)

PLAYER_POINTS_LINE_CONSENSUS = Table(
    dataset="nba_analytics",
    name="player_points_line_consensus",
    grain=("game_id", "player_lookup", "snapshot_at"),
    description="One row per player, game and snapshot: the median points line across books.",
    event_timestamp="event_timestamp",
    columns=GAME_KEYS + (
        PLAYER_LOOKUP,
        Column("snapshot_at", "TIMESTAMP", False, "Snapshot time"),
        Column("points_line", "FLOAT64", False, "Median points line across the books at this snapshot", min_value=0),
        Column("books_count", "INT64", False, "Number of books quoting the player at this snapshot", min_value=1),
        Column("event_timestamp", "TIMESTAMP", False, "Equal to snapshot_at: the line is known from then"),
        CREATED_AT,
    ),
)

def _market_line_columns() -> tuple[Column, ...]:
    cols: list[Column] = []
    for m in MARKETS:
        cols += [
            Column(m.line_feature, "FLOAT64", True,
                   f"Consensus {m.label} line: the median of the books' main lines at this snapshot; NULL when no book "
                   f"quotes the market", min_value=0),
            Column(m.over_prob_feature, "FLOAT64", True,
                   f"No-vig probability of the {m.label} over at the consensus line: the mean, over the books quoting "
                   f"exactly that line with both prices, of over / (over + under) implied probabilities; NULL when none",
                   min_value=0),
            _count(f"{m.name}_books_count", f"Books quoting the {m.label} market at this snapshot (NULL when none)"),
        ]
    return tuple(cols)


PLAYER_PROP_LINES = Table(
    dataset="nba_analytics",
    name="player_prop_lines",
    grain=("game_id", "player_lookup", "snapshot_at"),
    description=(
        "One row per player, game and snapshot: every modelled market's consensus line and no-vig over "
        "probability (points_line repeats player_points_line_consensus so that the markets' columns are alike)."
    ),
    event_timestamp="event_timestamp",
    columns=GAME_KEYS + (
        PLAYER_LOOKUP,
        Column("snapshot_at", "TIMESTAMP", False, "Snapshot time"),
    ) + _market_line_columns() + (
        Column("event_timestamp", "TIMESTAMP", False, "Equal to snapshot_at: the lines are known from then"),
        CREATED_AT,
    ),
)


def _stat_form_columns() -> tuple[Column, ...]:
    cols: list[Column] = []
    for stat in STATS:
        if stat != "points":  # points' means live in upcoming_player_game_context
            cols += [
                Column(f"{stat}_avg_last_5", "FLOAT64", True, f"Mean {stat} over the last 5 games played before the game", min_value=0),
                Column(f"{stat}_avg_last_10", "FLOAT64", True, f"Mean {stat} over the last 10 games played before the game", min_value=0),
                Column(f"{stat}_avg_season", "FLOAT64", True, f"Mean {stat} over the season's games played before the game", min_value=0),
            ]
        cols += [
            Column(f"{stat}_per_minute_last_10", "FLOAT64", True,
                   f"{stat} per minute over the last 10 games played: their sum over the minutes' sum", min_value=0),
            Column(f"{stat}_std_last_10", "FLOAT64", True,
                   f"Sample standard deviation of {stat} over the last 10 games played; NULL with fewer than 2", min_value=0),
            Column(f"opponent_{stat}_allowed_avg_season", "FLOAT64", True,
                   f"Mean {stat} the opponent's opponents scored per game against it, season to date before the game",
                   min_value=0),
        ]
    return tuple(cols)


PLAYER_STAT_FORM = Table(
    dataset="nba_analytics",
    name="player_stat_form",
    grain=("game_id", "player_lookup"),
    description=(
        "One row per player per game of his team (the rows of upcoming_player_game_context): every market "
        "stat's rolling form, per-minute rate and volatility, minutes form, and the opponent's allowance."
    ),
    event_timestamp="event_timestamp",
    columns=GAME_KEYS + (
        PLAYER_LOOKUP,
        Column("team_abbr", "STRING", False, "Player's team"),
        Column("opponent_team_abbr", "STRING", False, "Opponent"),
        Column("season", "STRING", False, "Season label"),
        GAMES_PLAYED_SEASON,
    ) + _stat_form_columns() + (
        Column("minutes_avg_last_3", "FLOAT64", True, "Mean minutes over the last 3 games played before the game", min_value=0),
        Column("minutes_std_last_10", "FLOAT64", True,
               "Sample standard deviation of minutes over the last 10 games played; NULL with fewer than 2", min_value=0),
        EVENT_TS_UPCOMING,
        CREATED_AT,
    ),
)

def _on_context_rows(name: str, description: str, columns: tuple[Column, ...]) -> Table:
    """A table with one row per upcoming_player_game_context row: its keys, team, season and games played first."""
    return Table(
        dataset="nba_analytics",
        name=name,
        grain=("game_id", "player_lookup"),
        description="One row per player per game of his team (the rows of upcoming_player_game_context): " + description,
        event_timestamp="event_timestamp",
        columns=GAME_KEYS + (
            PLAYER_LOOKUP,
            Column("team_abbr", "STRING", False, "Player's team"),
            Column("season", "STRING", False, "Season label"),
            GAMES_PLAYED_SEASON,
        ) + columns + (EVENT_TS_UPCOMING, CREATED_AT),
    )


PLAYER_AVAILABILITY = _on_context_rows(
    "player_availability",
    "who of the team's recent rotation missed its last game, what they leave behind, and the player's own missed "
    "games. Proxies for an injury report, from box scores known before the game only.",
    (
        Column("rotation_teammates_out", "INT64", True,
               "Teammates of the team's recent rotation who did not play its last game; NULL before the team's "
               "first game with a box score this season", min_value=0),
        Column("vacated_minutes", "FLOAT64", True,
               "Sum of those teammates' recent minutes per game played (0 when none is out)", min_value=0),
        Column("vacated_usage_share", "FLOAT64", True,
               "Percent of the team's possessions those teammates used per game recently: sum of their usage "
               "rate x minutes / 48 (5 players on the floor: a whole team sums to about 100); 0 when none is out",
               min_value=0),
        Column("player_missed_last_game", "BOOL", True,
               "The player did not play his team's last game; NULL before his first box-score row this season"),
        Column("player_games_missed_last_5", "INT64", True,
               "Of his team's last 5 games since his first box-score row this season, how many he did not play; "
               "NULL before that first row", min_value=0),
    ),
)

def _prev_season_stat_columns() -> tuple[Column, ...]:
    return tuple(
        Column(f"{stat}_avg_prev_season", "FLOAT64", True,
               f"Mean {stat} over the player's played games of the previous season (games whose {stat} is lost "
               "left out); NULL when he played none", min_value=0)
        for stat in STATS
    )


PLAYER_SEASON_PRIOR = _on_context_rows(
    "player_season_prior",
    "the player's figures of the previous season (the season label before the row's), for the games when "
    "this season is young. Built only from games dated before the game.",
    (
        Column("prev_season", "STRING", False, "The season label before season, e.g. 2024-25 for 2025-26"),
        _count("games_played_prev_season",
               "Games the player played (minutes > 0) in the previous season; 0 when the warehouse has that "
               "season's box scores and he played none, NULL when it has no box score of that season at all"),
        Column("minutes_avg_prev_season", "FLOAT64", True,
               "Mean minutes over the player's played games of the previous season; NULL when he played none",
               min_value=0),
    ) + _prev_season_stat_columns() + (
        Column("usage_rate_prev_season", "FLOAT64", True,
               "Usage formula on the previous season's totals (the player's, and his teams' over all their games "
               "of that season, per stint), as season_usage_rate; NULL when he played none", min_value=0),
    ),
)

# --- nba_precompute -------------------------------------------------------------------

PLAYER_COMPOSITE_FACTORS = Table(
    dataset="nba_precompute",
    name="player_composite_factors",
    grain=("game_id", "player_lookup"),
    description="One row per player per game of his team: composite factors built from earlier games.",
    event_timestamp="event_timestamp",
    columns=GAME_KEYS + (
        PLAYER_LOOKUP,
        Column("season", "STRING", False, "Season label"),
        GAMES_PLAYED_SEASON,
        Column(
            "season_usage_rate", "FLOAT64", True,
            "Usage formula on season-to-date totals before the game (player's and his team's), as Basketball-Reference computes USG%",
            min_value=0,
        ),
        Column(
            "usage_spike_score", "FLOAT64", True,
            "avg_usage_rate_last_7_games / season_usage_rate; NULL when either is NULL", min_value=0,
        ),
        Column("points_form_ratio", "FLOAT64", True, "points_avg_last_5 / points_avg_season; NULL when either is NULL or the season mean is 0", min_value=0),
        Column("minutes_form_ratio", "FLOAT64", True, "minutes_avg_last_7 / season minutes per game played; NULL when either is NULL or 0", min_value=0),
        EVENT_TS_UPCOMING,
        CREATED_AT,
    ),
)

RAW_TABLES = (BDL_PLAYER_BOXSCORES, TEAM_BOXSCORES, SCHEDULE, ODDS_API_PLAYER_POINTS_PROPS, ODDS_API_PLAYER_PROPS)
DERIVED_TABLES = (
    PLAYER_GAME_SUMMARY,
    PLAYER_POINTS_LINE_CONSENSUS,
    PLAYER_PROP_LINES,
    UPCOMING_PLAYER_GAME_CONTEXT,
    PLAYER_STAT_FORM,
    PLAYER_AVAILABILITY,
    PLAYER_SEASON_PRIOR,
    PLAYER_COMPOSITE_FACTORS,
)
ALL_TABLES = RAW_TABLES + DERIVED_TABLES
DATASETS = ("nba_raw", "nba_analytics", "nba_precompute")
FEATURE_LOG_DATASET = "nba_feast_logs"  # served feature vectors, one table per feature service (feast_plugins/feature_log.py)


def table(fqn: str) -> Table:
    """Look a table up by ``dataset.name``."""
    for t in ALL_TABLES:
        if t.fqn == fqn:
            return t
    raise KeyError(f"no table {fqn!r} is declared in warehouse/schema.py; known: {', '.join(t.fqn for t in ALL_TABLES)}")
