"""The Feast definitions follow their single declarations and the time semantics.

Features, types, descriptions and owners come from feature_repo/catalog.py; sources from
warehouse/schema.py; the service order from catalog.PLAYER_POINTS_V1. These tests fail
when a declaration and the Feast objects drift apart (a catalog feature missing from
its view, a view reading a column its table does not declare, a ttl that would serve
yesterday's game as today's).
"""
from __future__ import annotations

import datetime as dt

import pytest

from feature_repo import catalog, data_sources, entities, feature_services, on_demand_features
from feature_repo.feature_views import FEAST_TYPES, FEATURE_VIEWS
from nbafs import timeline
from warehouse import schema
from warehouse.storage import relative_glob

SCHEMA_TYPES = {"FLOAT64": "Float64", "INT64": "Int64", "BOOL": "Bool"}
BATCH_VIEWS = sorted({f.view for f in catalog.FEATURES} - set(catalog.ON_DEMAND_VIEWS))


def join_keys(view: str) -> list[str]:
    by_name = {e.name: e for e in (entities.player, entities.game)}
    return sorted(by_name[name].join_key for name in FEATURE_VIEWS[view].entities)


def table_of(view: str) -> schema.Table:
    return schema.table(FEATURE_VIEWS[view].batch_source.name)


def test_every_catalog_feature_is_served_by_its_view_with_its_declaration():
    assert sorted(FEATURE_VIEWS) == BATCH_VIEWS
    for view in BATCH_VIEWS:
        fields = {f.name: f for f in FEATURE_VIEWS[view].features}
        declared = catalog.features_of_view(view)
        assert sorted(fields) == sorted(f.name for f in declared), view
        for feat in declared:
            field = fields[feat.name]
            assert field.dtype == FEAST_TYPES[feat.dtype]
            assert field.description == feat.description and field.description
            assert field.tags["owner"] == feat.owner


def test_every_view_feature_is_a_declared_column_of_its_table_with_the_same_type():
    for view in BATCH_VIEWS:
        table = table_of(view)
        for feat in catalog.features_of_view(view):
            column = table.column(feat.name)  # KeyError names the table and its columns
            assert SCHEMA_TYPES[column.type] == feat.dtype, f"{table.fqn}.{feat.name}"
        for key in join_keys(view):
            assert table.column(key).type == "STRING"


def test_sources_are_the_event_time_tables_with_relative_paths_and_created_at():
    tables = [t for t in schema.ALL_TABLES if t.event_timestamp]
    sources = data_sources.build_sources("local")
    assert sorted(sources) == sorted(t.fqn for t in tables)
    for table in tables:
        src = sources[table.fqn]
        assert src.path == relative_glob(table) and not src.path.startswith("/")
        assert src.timestamp_field == "event_timestamp" == table.event_timestamp
        assert src.created_timestamp_column == "created_at"
        table.column("created_at")
        assert src.description == table.description


def test_ttls_serve_a_game_on_its_day_and_not_the_next():
    day = dt.date(2026, 1, 15)
    for view in ("upcoming_player_game_context", "player_composite_factors"):
        ttl = FEATURE_VIEWS[view].ttl
        known = timeline.upcoming_known_at(day)
        assert known + ttl >= timeline.noon_eastern(day), f"{view} must serve its game at noon that day"
        assert known + ttl < timeline.noon_eastern(day + dt.timedelta(days=1)), f"{view} must not serve it the next day"
    last_game = FEATURE_VIEWS["player_game_summary"].ttl
    # the last game is still "the last game" after a 5-day break (All-Star week) ...
    assert timeline.box_score_known_at(day) + last_game >= timeline.noon_eastern(day + dt.timedelta(days=6))
    # ... but not after a month out
    assert timeline.box_score_known_at(day) + last_game < timeline.noon_eastern(day + dt.timedelta(days=30))
    assert FEATURE_VIEWS["player_points_line"].ttl < dt.timedelta(days=1)


def test_entities_and_join_keys():
    assert entities.player.join_key == "player_lookup"
    assert entities.game.join_key == "game_id"
    for view in FEATURE_VIEWS:
        keys = join_keys(view)
        assert keys == (["game_id", "player_lookup"] if view in ("player_points_line", "player_prop_lines") else ["player_lookup"])


def test_on_demand_views_output_the_catalog_features_from_the_declared_inputs():
    spike = on_demand_features.usage_spike
    assert [f.name for f in spike.features] == ["usage_spike_score"]
    inputs = {(p.name, f.name) for p in spike.source_feature_view_projections.values() for f in p.features}
    assert inputs == {("upcoming_player_game_context", "avg_usage_rate_last_7_games"),
                      ("player_composite_factors", "season_usage_rate")}
    line = on_demand_features.line_relative
    assert [f.name for f in line.features] == ["points_avg_last_5_minus_line"]
    assert list(line.get_request_data_schema()) == ["line_offered"]
    assert sorted(catalog.ON_DEMAND_VIEWS) == sorted(["usage_spike", "line_relative"])


def test_feature_service_serves_the_declared_features_each_from_its_serving_view():
    service = feature_services.player_points_v1
    served = [(p.name, f.name) for p in service.feature_view_projections for f in p.features]
    assert sorted(f for _, f in served) == sorted(catalog.PLAYER_POINTS_V1)
    for view, name in served:
        assert view == feature_services.serving_view(name)
    assert ("usage_spike", "usage_spike_score") in served  # recomputed at request time
    assert catalog.PLAYER_POINTS_V1[8] == "usage_spike_score"
    assert service.tags["order"].split(",") == list(catalog.PLAYER_POINTS_V1)


@pytest.mark.parametrize("view", BATCH_VIEWS)
def test_views_are_online_and_documented(view):
    fv = FEATURE_VIEWS[view]
    assert fv.online and fv.description and fv.owner
    assert fv.tags["table"] == table_of(view).fqn
