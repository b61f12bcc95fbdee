"""Test helper: a real Feast FeatureStore on the repo's definitions, applied in-process.

``applied_store(home)`` builds the local profile's config (feature_store.yaml) with the
registry and the online store at absolute paths under ``home``, so a test can apply the
definitions without writing into the data directory it reads (the session's shared real
warehouse, for instance). The warehouse tables are still read from NBAFS_DATA_DIR.
The objects applied are the ones ``feast apply`` finds (Feast's own ``parse_repo``).
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml
from feast import FeatureStore, RepoConfig
from feast.repo_operations import parse_repo

from nbafs import paths


def repo_objects() -> list:
    cwd = os.getcwd()
    os.chdir(paths.REPO_ROOT)  # parse_repo names modules relative to the cwd
    try:
        repo = parse_repo(paths.REPO_ROOT)
    finally:
        os.chdir(cwd)
    return [
        *repo.entities, *repo.data_sources, *repo.feature_views,
        *repo.on_demand_feature_views, *repo.feature_services,
    ]


def config(home: Path, offline_store: dict | None = None) -> RepoConfig:
    raw = yaml.safe_load((paths.REPO_ROOT / "feature_store.yaml").read_text())
    raw["registry"]["path"] = str(home / "registry.db")
    raw["online_store"]["path"] = str(home / "online_store.db")
    if offline_store is not None:
        raw["offline_store"] = offline_store
    cfg = RepoConfig(**raw)
    cfg.repo_path = paths.REPO_ROOT
    return cfg


def applied_store(home: Path) -> FeatureStore:
    home.mkdir(parents=True, exist_ok=True)
    store = FeatureStore(config=config(home))
    store.apply(repo_objects())
    return store


# --- fixtures (import them into a test module to use them) -------------------------------

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def _sample_store_home(tmp_path_factory) -> Path:
    """A small generated season (6 teams x 20 games), transformed, with the repo applied."""
    from transformations.runner import run as transform
    from warehouse import sample_season

    home = tmp_path_factory.mktemp("sample-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(home / "data"))
        sample_season.generate(season="2025-26", seed=3, n_teams=6, games_per_team=20)
        transform(progress=None)
        applied_store(home / "feast")
    return home


@pytest.fixture
def sample_store(_sample_store_home, monkeypatch) -> FeatureStore:
    """A FeatureStore over the shared sample season (read it only; never write into it)."""
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(_sample_store_home / "data"))
    return FeatureStore(config=config(_sample_store_home / "feast"))


@pytest.fixture
def real_store(real_warehouse, tmp_path_factory) -> FeatureStore:
    """A FeatureStore over the session's real warehouse; registry and online store elsewhere."""
    return applied_store(tmp_path_factory.mktemp("real-store"))


def stock_online_read(store, features, rows):
    """Stock Feast's generic online read (``OnlineStore.get_online_features``) of the store.

    What the store holds, without our staleness rule: the reference for tests of what
    materialization wrote.
    """
    from feast.infra.online_stores.online_store import OnlineStore

    online = store._get_provider().online_store
    return OnlineStore.get_online_features(online, store.config, features, rows, store.registry, store.project, False)
