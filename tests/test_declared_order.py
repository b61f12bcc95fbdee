"""The service's declared order in every output, whatever the hash seed.

What these tests protect: two processes with different PYTHONHASHSEED get the same
column order from ``FeatureStore.get_online_features`` (a feature service and a list of
refs), from ``feast serve`` and from ``get_historical_features`` with the service:
``feature_repo/catalog.py`` PLAYER_POINTS_V1, the model's contract (index 8 =
usage_spike_score).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from feature_repo.catalog import PLAYER_POINTS_V1
from nbafs import paths
from tests import league

PROBE = r"""
import datetime as dt, json, sys
import pandas as pd
from nbafs.profile import feature_store
store = feature_store()
service = store.get_feature_service("player_points_v1")
rows = {"player_lookup": ["a", "b"], "game_id": ["g", "h"], "line_offered": [20.5, None],
        "request_time": ["2025-11-20T17:00:00Z"]}
online = list(store.get_online_features(features=service, entity_rows=rows).to_df().columns)
refs = ["player_points_line:points_line", "player_game_summary:usage_rate", "upcoming_player_game_context:points_avg_last_5"]
by_refs = list(store.get_online_features(features=refs, entity_rows=rows).to_dict())
entity_df = pd.DataFrame({"player_lookup": ["a"], "game_id": ["g"], "line_offered": [20.5],
                          "event_timestamp": [dt.datetime(2025, 11, 20, 17, tzinfo=dt.timezone.utc)]})
training = list(store.get_historical_features(entity_df=entity_df, features=service).to_df().columns)
print(json.dumps({"online": online, "refs": by_refs, "training": training}))
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("order")
    with pytest.MonkeyPatch.context() as mp:
        league.use(mp, {paths.DATA_DIR_ENV: str(home)})
        league.build()
    return home


def _probe(home, seed: str) -> dict:
    env = {**os.environ, paths.DATA_DIR_ENV: str(home), "PYTHONHASHSEED": seed}
    env.pop("NBAFS_PROFILE", None)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=paths.REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_hash_seeds_give_the_declared_order_everywhere(home):
    first, second = _probe(home, "1"), _probe(home, "4242")
    assert first == second
    assert first["online"] == ["player_lookup", "game_id", *PLAYER_POINTS_V1]
    assert first["online"][2 + 8] == "usage_spike_score"
    assert first["refs"] == ["player_lookup", "game_id", "points_line", "usage_rate", "points_avg_last_5"]
    features = [c for c in first["training"] if c in PLAYER_POINTS_V1]
    assert features == list(PLAYER_POINTS_V1) and first["training"][-len(PLAYER_POINTS_V1):] == features
