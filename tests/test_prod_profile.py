"""The production profile: its config loads, its sources build, and nothing contacts Google.

``NBAFS_PROFILE=prod`` selects feature_store.prod.yaml (our BigQuery offline store, our
Redis online store, our GCS registry store, the NbaBatchEngine; no endpoint and no secret
in the file) and makes feature_repo/data_sources.py build
BigQuerySources on the same dataset and table names. The feature definitions must be
the same as in the local profile; the BigQuery point-in-time SQL Feast would run for the
feature service must parse as BigQuery SQL. The switch itself (nbafs/profile.py) must
refuse a contradiction between the profile and the yaml the feast CLI reads.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import sqlglot
from feast.repo_config import load_repo_config

from feature_repo import data_sources, feature_services
from feature_repo.feature_views import FEATURE_VIEWS
from nbafs import paths, profile
from nbafs.errors import UserError
from warehouse import gcp

PROD_ENV = {
    "NBAFS_PROFILE": "prod",
    "NBAFS_GCP_PROJECT": "nba-test-project",
    "NBAFS_GCS_BUCKET": "nba-test-bucket",
}

# Imports the definitions under the prod profile and renders the query Feast's BigQuery
# offline store builds for the feature service (the same calls as
# BigQueryOfflineStore.get_historical_features, minus the client that uploads the entity
# dataframe). The registry is a real Feast file registry in a temporary directory.
PROD_SCRIPT = r"""
import json, sys, tempfile, datetime as dt
from pathlib import Path
from feast.infra.offline_stores import offline_utils
from feast.infra.offline_stores.bigquery import MULTIPLE_FEATURE_VIEW_POINT_IN_TIME_JOIN
from feast.infra.registry.registry import Registry
from feast.repo_config import RegistryConfig
from feast import BigQuerySource
from feature_repo import data_sources, entities, feature_services
from feature_repo.feature_views import FEATURE_VIEWS

tmp = Path(tempfile.mkdtemp())
registry = Registry("nba_feature_store", RegistryConfig(path=str(tmp / "registry.db")), repo_path=tmp)
for e in (entities.player, entities.game):
    registry.apply_entity(e, "nba_feature_store")
service = feature_services.player_points_v1
views = [FEATURE_VIEWS[p.name] for p in service.feature_view_projections if p.name in FEATURE_VIEWS]
refs = [f"{p.name}:{f.name}" for p in service.feature_view_projections if p.name in FEATURE_VIEWS for f in p.features]
refs.append("player_composite_factors:season_usage_rate")
ctx = offline_utils.get_feature_view_query_context(
    refs, views, registry, "nba_feature_store",
    (dt.datetime(2025, 11, 13, tzinfo=dt.timezone.utc), dt.datetime(2026, 1, 30, tzinfo=dt.timezone.utc)))
sql = offline_utils.build_point_in_time_query(
    feature_view_query_contexts=ctx,
    left_table_query_string="nba-test-project.nba_feast_staging.entity_df",
    entity_df_event_timestamp_col="event_timestamp",
    entity_df_columns=["player_lookup", "game_id", "event_timestamp", "line_offered"],
    query_template=MULTIPLE_FEATURE_VIEW_POINT_IN_TIME_JOIN,
    full_feature_names=False,
    filter_by_created_timestamp=True,
)
json.dump({
    "sources": {n: [type(s).__name__, getattr(s, "table", None), s.timestamp_field, s.created_timestamp_column]
                for n, s in data_sources.SOURCES.items()},
    "views": {n: [v.batch_source.name, type(v.batch_source).__name__, [f.name for f in v.features], v.ttl.total_seconds()]
              for n, v in FEATURE_VIEWS.items()},
    "service": [[p.name, [f.name for f in p.features]] for p in service.feature_view_projections],
    "sql": sql,
}, sys.stdout)
"""


@pytest.fixture(scope="module")
def prod_definitions() -> dict:
    env = {**os.environ, **PROD_ENV}
    proc = subprocess.run([sys.executable, "-c", PROD_SCRIPT], cwd=paths.REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_prod_config_loads_without_contacting_google(monkeypatch):
    for k, v in PROD_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("NBAFS_BIGQUERY_LOCATION", raising=False)
    for k in ("NBAFS_REDIS_HOST", "NBAFS_REDIS_PASSWORD"):  # read at connect time, not at load
        monkeypatch.delenv(k, raising=False)
    cfg = load_repo_config(paths.REPO_ROOT, profile.yaml_path())
    assert profile.yaml_path().name == "feature_store.prod.yaml"
    assert cfg.provider == "gcp" and cfg.project == "nba_feature_store"
    assert type(cfg.offline_store).__name__ == "NbaBigQueryOfflineStoreConfig"
    assert cfg.offline_store.project_id == "nba-test-project"
    assert cfg.offline_store.location == "US" and cfg.offline_store.dataset == "nba_feast_staging"
    assert type(cfg.online_store).__name__ == "NbaRedisOnlineStoreConfig"
    assert not cfg.online_store.skip_dedup  # Feast's event-timestamp comparison on write stays on
    assert cfg.registry.path == "gs://nba-test-bucket/feast/registry.db"
    assert cfg.registry.registry_store_type == "feast_plugins.registry_store.NbaGCSRegistryStore"
    assert type(cfg.batch_engine).__name__ == "NbaBatchEngineConfig"


def test_prod_yaml_holds_no_endpoint_and_no_secret():
    text = profile.yaml_path("prod").read_text()
    body = [line.split("#", 1)[0] for line in text.splitlines()]
    assert not any(k in line for line in body for k in ("password", "connection_string", "host:", "127.0.0.1"))
    assert "bigtable" not in "".join(body).lower()


def test_prod_config_names_an_unset_variable(monkeypatch):
    for k, v in PROD_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("NBAFS_GCP_PROJECT")
    with pytest.raises(UserError, match="NBAFS_GCP_PROJECT is not set"):
        load_repo_config(paths.REPO_ROOT, profile.yaml_path()).offline_store


def test_feast_cli_says_which_variable_is_unset_without_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NBAFS_GCP_PROJECT"}
    env.update({k: v for k, v in PROD_ENV.items() if k != "NBAFS_GCP_PROJECT"}, NBAFS_DATA_DIR=str(tmp_path))
    done = subprocess.run([str(Path(sys.executable).parent / "feast"), "-f", "feature_store.prod.yaml", "plan"],
                          cwd=paths.REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "feast: error:" in done.stderr and "NBAFS_GCP_PROJECT is not set" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_prod_sources_are_bigquery_tables_with_the_same_names(prod_definitions):
    local = data_sources.build_sources("local")
    prod = prod_definitions["sources"]
    assert sorted(prod) == sorted(local)
    for name, (kind, table, ts, created) in prod.items():
        dataset, tbl = name.split(".")
        assert kind == "BigQuerySource"
        assert table == f"nba-test-project.{dataset}.{tbl}"
        assert (ts, created) == (local[name].timestamp_field, local[name].created_timestamp_column)


def test_prod_feature_definitions_equal_the_local_ones(prod_definitions):
    for name, (source, kind, features, ttl) in prod_definitions["views"].items():
        fv = FEATURE_VIEWS[name]
        assert kind == "BigQuerySource" and source == fv.batch_source.name
        assert features == [f.name for f in fv.features]
        assert ttl == fv.ttl.total_seconds()
    local_service = [[p.name, [f.name for f in p.features]] for p in feature_services.player_points_v1.feature_view_projections]
    assert prod_definitions["service"] == local_service


def test_prod_point_in_time_sql_is_bigquery_sql_over_the_upstream_tables(prod_definitions):
    sql = prod_definitions["sql"]
    parsed = sqlglot.parse(sql, read="bigquery")
    assert parsed and all(p is not None for p in parsed)
    for table in ("nba_analytics.player_game_summary", "nba_analytics.upcoming_player_game_context",
                  "nba_precompute.player_composite_factors", "nba_analytics.player_points_line_consensus"):
        assert f"nba-test-project.{table}" in sql
    assert "created_at" in sql


def test_prod_sources_need_the_gcp_project(monkeypatch):
    monkeypatch.delenv(gcp.PROJECT_ENV, raising=False)
    with pytest.raises(UserError, match="NBAFS_GCP_PROJECT"):
        data_sources.build_sources("prod")


def test_switch_defaults_to_local_and_rejects_unknown_profiles(monkeypatch):
    monkeypatch.delenv(profile.PROFILE_ENV, raising=False)
    assert profile.active() == "local" and profile.yaml_path().name == "feature_store.yaml"
    monkeypatch.setenv(profile.PROFILE_ENV, "prod")
    assert profile.active() == "prod"
    monkeypatch.setenv(profile.PROFILE_ENV, "production")
    with pytest.raises(UserError, match="local, prod"):
        profile.active()


def _in_feast_cli(yaml_name: str):
    ctx = click.Context(click.Command("feast"), obj={"FS_YAML_FILE": paths.REPO_ROOT / yaml_name})
    return ctx


def test_feast_cli_yaml_decides_and_a_contradiction_is_an_error(monkeypatch):
    monkeypatch.delenv(profile.PROFILE_ENV, raising=False)
    with _in_feast_cli("feature_store.prod.yaml"):
        assert profile.active() == "prod"  # `feast -f feature_store.prod.yaml apply`
    with _in_feast_cli("feature_store.yaml"):
        assert profile.active() == "local"
    monkeypatch.setenv(profile.PROFILE_ENV, "prod")
    with _in_feast_cli("feature_store.yaml"), pytest.raises(UserError, match="feast -f feature_store.prod.yaml"):
        profile.active()
