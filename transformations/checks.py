"""Input checks that run before any transformation writes a row.

Each check is one BigQuery SQL query (parameters ``@start_date``/``@end_date``) returning
one row per problem in a column ``problem``: a sentence naming the table, the row and
what was expected. The local runner runs the checks on DuckDB (transpiled) and raises
the first problem as a ``ValidationError``; the production script wraps the same query
in ``SELECT ERROR(...)`` so BigQuery stops the script with the same message before the
transaction starts. Either way a bad input writes nothing.

The checks are derived from the declarations (grain and lower bounds in
warehouse/schema.py) and from the columns the SQL actually reads (``transformations.steps``):
- duplicate rows at a raw table's grain;
- counts below their declared minimum (negative counts) in the columns read;
- a player box score with no team totals for its (game_id, team_abbr);
- a box score whose game is missing from nba_raw.schedule (the context rows are built
  from the schedule).
Missing or renamed columns are checked before any of these run, by the one schema check
of the warehouse (``warehouse.columns.check`` on ``steps.column_reads()``: parquet
footers locally, INFORMATION_SCHEMA in BigQuery).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from warehouse.schema import BDL_PLAYER_BOXSCORES, SCHEDULE, TEAM_BOXSCORES, Table, table as declared
from warehouse.validate import ValidationError

# Which rows of each raw table the transformations read: the box scores and lines of
# the range itself; schedule and team totals also the season's history before it (from
# August 1 of @start_date's season, as the SQL reads them).
IN_RANGE = "game_date BETWEEN @start_date AND @end_date"
WITH_HISTORY = ("game_date BETWEEN DATE(EXTRACT(YEAR FROM @start_date) - IF(EXTRACT(MONTH FROM @start_date) < 8, 1, 0), 8, 1) "
                "AND @end_date")
READ_WINDOW = {
    "nba_raw.bdl_player_boxscores": IN_RANGE,
    "nba_raw.odds_api_player_points_props": IN_RANGE,
    "nba_raw.odds_api_player_props": IN_RANGE,
    "nba_raw.team_boxscores": WITH_HISTORY,
    "nba_raw.schedule": WITH_HISTORY,
}


@dataclass(frozen=True)
class Check:
    name: str
    table: str  # the table holding the bad rows
    sql: str  # BigQuery SQL: one row per problem, column `problem`
    advice: str  # what to do about it

    def first_problem_sql(self) -> str:
        """The first problem (in a stable order) and how many there are."""
        return (
            f"SELECT problem, COUNT(*) OVER () AS problems FROM ({self.sql}) AS found "
            f"ORDER BY problem LIMIT 1"
        )

    def bigquery_statement(self) -> str:
        """A statement that fails the BigQuery script with the check's message."""
        return (
            "SELECT ERROR(CONCAT(problem, ' (', CAST(problems AS STRING), ' such row(s) in all). ', "
            f"{_quote(self.advice)}, ' Nothing was written.')) FROM ({self.first_problem_sql()}) AS first_problem"
        )

    def message(self, problem: str, problems: int) -> str:
        return f"{problem} ({problems} such row(s) in all). {self.advice} Nothing was written."


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _key_text(t: Table, alias: str = "") -> str:
    """SQL building ``(game_id=..., player_lookup=...)`` for a row of ``t``."""
    prefix = f"{alias}." if alias else ""
    parts = []
    for i, key in enumerate(t.grain):
        sep = "" if i == 0 else ", "
        parts.append(f"'{sep}{key}=', CAST({prefix}{key} AS STRING)")
    return "'(', " + ", ".join(parts) + ", ')'"


def duplicate_rows(t: Table) -> Check:
    keys = ", ".join(t.grain)
    return Check(
        name=f"duplicates:{t.fqn}",
        table=t.fqn,
        sql=(
            f"SELECT CONCAT('{t.fqn}: ', {_key_text(t)}, ' appears ', CAST(COUNT(*) AS STRING), "
            f"' times (game date ', CAST(MIN(game_date) AS STRING), '); expected one row per ({keys})') AS problem "
            f"FROM {t.fqn} WHERE {READ_WINDOW[t.fqn]} GROUP BY {keys} HAVING COUNT(*) > 1"
        ),
        advice=f"Remove the duplicate rows upstream (or re-import the partition) so each ({keys}) appears once.",
    )


def below_minimum(t: Table, columns: list[str]) -> Check | None:
    bounded = [t.column(c) for c in columns if t.column(c).min_value is not None]
    if not bounded:
        return None
    which = " ".join(
        f"WHEN {c.name} < {c.min_value:g} THEN CONCAT('column {c.name} is ', CAST({c.name} AS STRING), "
        f"', expected >= {c.min_value:g}')"
        for c in bounded
    )
    any_bad = " OR ".join(f"{c.name} < {c.min_value:g}" for c in bounded)
    return Check(
        name=f"minimum:{t.fqn}",
        table=t.fqn,
        sql=(
            f"SELECT CONCAT('{t.fqn} row ', {_key_text(t)}, ' dated ', CAST(game_date AS STRING), ': ', "
            f"CASE {which} END) AS problem FROM {t.fqn} WHERE {READ_WINDOW[t.fqn]} AND ({any_bad})"
        ),
        advice="Negative counts are a scraper bug: fix the rows at the source and re-import them.",
    )


def team_totals_missing() -> Check:
    b, t = BDL_PLAYER_BOXSCORES.fqn, TEAM_BOXSCORES.fqn
    return Check(
        name="team_totals",
        table=b,
        sql=(
            f"SELECT CONCAT('{b} row ', {_key_text(BDL_PLAYER_BOXSCORES, 'box')}, ' dated ', "
            f"CAST(box.game_date AS STRING), ' (minutes ', CAST(box.minutes AS STRING), '): no team totals in {t} "
            f"for (game_id=', box.game_id, ', team_abbr=', box.team_abbr, '); expected one team row per player-game "
            f"(usage_rate needs them)') AS problem "
            f"FROM {b} AS box LEFT JOIN {t} AS team ON team.game_id = box.game_id AND team.team_abbr = box.team_abbr "
            f"WHERE box.{IN_RANGE} AND team.game_id IS NULL"
        ),
        advice=f"Import the team box scores of that game into {t}, or fix the player's team_abbr.",
    )


def games_missing_from_schedule() -> Check:
    b, t, s = BDL_PLAYER_BOXSCORES.fqn, TEAM_BOXSCORES.fqn, SCHEDULE.fqn
    return Check(
        name="schedule",
        table=s,
        sql=(
            f"SELECT CONCAT(source_table, ' has game_id=', game_id, ' dated ', CAST(game_date AS STRING), "
            f"' but {s} has no such game; expected every game with a box score in the schedule') AS problem "
            f"FROM (SELECT DISTINCT '{b}' AS source_table, game_id, game_date FROM {b} WHERE {IN_RANGE} "
            f"UNION ALL SELECT DISTINCT '{t}' AS source_table, game_id, game_date FROM {t} WHERE {WITH_HISTORY}) AS played "
            f"WHERE game_id NOT IN (SELECT game_id FROM {s})"
        ),
        advice=f"Import the schedule of that game into {s} (the context rows are built from the schedule).",
    )


def input_checks(raw_inputs: dict[str, list[str]]) -> list[Check]:
    """Every data check for the raw tables (and columns) the steps read."""
    checks: list[Check] = []
    for fqn, columns in raw_inputs.items():
        t = declared(fqn)
        checks.append(duplicate_rows(t))
        bound = below_minimum(t, columns)
        if bound:
            checks.append(bound)
    checks.append(team_totals_missing())
    checks.append(games_missing_from_schedule())
    return checks


def run_local(con, checks: list[Check], params: dict[str, dt.date]) -> None:
    """Run the checks on DuckDB; raise the first problem found."""
    from warehouse.engine_duckdb import bind_dates, date_template

    for check in checks:
        sql = bind_dates(date_template(check.first_problem_sql(), tuple(sorted(params))), params)
        row = con.execute(sql).fetchone()
        if row:
            raise ValidationError(check.message(row[0], int(row[1])))
