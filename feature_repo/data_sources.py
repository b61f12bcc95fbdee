"""Data sources: one per warehouse table that Feast reads (the tables with an event time).

The table list, descriptions and time columns come from ``warehouse/schema.py``
(``Table.event_timestamp``); nothing is declared twice. Every source uses
``event_timestamp`` as its event time (when the row's facts became known) and
``created_at`` as its created timestamp (when the row was written), which training
retrieval honours with ``filter_by_created_timestamp``.

The active profile (``nbafs/profile.py``, switch ``NBAFS_PROFILE``) picks the kind:

- local: a ``FileSource`` over the table's parquet partitions. Its path is relative
  (``warehouse/<dataset>/<table>/*.parquet``) and resolved under NBAFS_DATA_DIR by our
  offline store, so the registry is identical whichever data directory is in use.
- prod: a ``BigQuerySource`` on ``<project>.<dataset>.<table>``, the same dataset and
  table names as upstream; the project is ``warehouse.gcp.project()`` (NBAFS_GCP_PROJECT),
  as for every BigQuery client of the project. Feast reads them through
  ``feast_plugins.bigquery_offline_store``.

Sources are named after their table (``nba_analytics.player_game_summary``).

One push source, ``player_points_line_push``, takes intraday line snapshots
(``store.push``, ``feast serve``'s ``/push``, ``nbafs push-lines``); its batch source is
the consensus table's, so materialization and training read that table, and a push
``to=online_and_offline`` lands its rows there too.
"""
from __future__ import annotations

from feast import BigQuerySource, FileSource, PushSource
from feast.data_format import ParquetFormat
from feast.data_source import DataSource

from nbafs import profile
from warehouse import gcp
from warehouse.schema import ALL_TABLES, PLAYER_POINTS_LINE_CONSENSUS, Table
from warehouse.storage import relative_glob

OWNER = "data-platform@nba-feature-store"
CREATED_AT = "created_at"

FEAST_TABLES: tuple[Table, ...] = tuple(t for t in ALL_TABLES if t.event_timestamp)


def _tags(table: Table) -> dict[str, str]:
    return {"dataset": table.dataset, "table": table.name, "grain": ",".join(table.grain)}


def file_source(table: Table) -> FileSource:
    return FileSource(
        name=table.fqn,
        path=relative_glob(table),
        file_format=ParquetFormat(),
        timestamp_field=table.event_timestamp,
        created_timestamp_column=CREATED_AT,
        description=table.description,
        owner=OWNER,
        tags=_tags(table),
    )


def bigquery_source(table: Table, project: str) -> BigQuerySource:
    # No date_partition_column: Feast would prune on game_date between the event times'
    # dates, but a box score's event time is the day after its game_date, so the first
    # day's rows would be pruned away.
    return BigQuerySource(
        name=table.fqn,
        table=f"{project}.{table.dataset}.{table.name}",
        timestamp_field=table.event_timestamp,
        created_timestamp_column=CREATED_AT,
        description=table.description,
        owner=OWNER,
        tags=_tags(table),
    )


def build_sources(profile_name: str) -> dict[str, DataSource]:
    """Every Feast source of a profile, by table name (``dataset.table``)."""
    if profile_name == "prod":
        project = gcp.project()
        return {t.fqn: bigquery_source(t, project) for t in FEAST_TABLES}
    return {t.fqn: file_source(t) for t in FEAST_TABLES}


SOURCES = build_sources(profile.active())

player_game_summary_source = SOURCES["nba_analytics.player_game_summary"]
upcoming_player_game_context_source = SOURCES["nba_analytics.upcoming_player_game_context"]
player_points_line_consensus_source = SOURCES["nba_analytics.player_points_line_consensus"]
player_composite_factors_source = SOURCES["nba_precompute.player_composite_factors"]
player_stat_form_source = SOURCES["nba_analytics.player_stat_form"]
player_availability_source = SOURCES["nba_analytics.player_availability"]
player_season_prior_source = SOURCES["nba_analytics.player_season_prior"]
player_prop_lines_source = SOURCES["nba_analytics.player_prop_lines"]

LINE_PUSH_SOURCE = "player_points_line_push"
player_points_line_push = PushSource(
    name=LINE_PUSH_SOURCE,
    batch_source=player_points_line_consensus_source,
    description="Intraday consensus lines, pushed as each snapshot arrives; rows as in the consensus table.",
    owner=OWNER,
    tags=_tags(PLAYER_POINTS_LINE_CONSENSUS),
)
