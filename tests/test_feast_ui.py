"""``feast ui`` starts from this install and serves the project's registry, in each profile.

One ``feast ui`` per profile (a subprocess on 127.0.0.1, a free port, stopped by pid) over
the sample league of tests/league.py: its page, its ``/health``, its projects list and its
REST registry endpoints (``/api/v1/...``), which must name every view of the catalog and
the feature service with its features.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from feature_repo import catalog
from nbafs import paths, profile
from nbafs.profile import PROFILE_ENV
from tests.league import local_league, prod_league  # noqa: F401 - fixtures

SERVICE = "player_points_v1"
START_TIMEOUT_S = 90
REQUEST_TIMEOUT_S = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as response:
        return response.status, response.headers.get("content-type", ""), response.read()


def _json(url: str) -> dict:
    status, content_type, body = _get(url)
    assert status == 200 and content_type.startswith("application/json"), (url, status, content_type)
    return json.loads(body)


class Ui:
    def __init__(self, base: str, project: str):
        self.base, self.project = base, project

    def api(self, path: str) -> dict:
        return _json(f"{self.base}/api/v1/{path}?project={self.project}")


@pytest.fixture(scope="module", params=["local", pytest.param("prod", marks=pytest.mark.prod)])
def ui(request, tmp_path_factory):
    """``feast ui`` over the profile's league; answers on /health before the tests run."""
    league = request.getfixturevalue(f"{request.param}_league")
    env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}
    env.update(league)
    yaml_file = profile.yaml_path(request.param)
    port = _free_port()
    log = tmp_path_factory.mktemp(f"feast-ui-{request.param}") / "feast-ui.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "feast"), "-f", yaml_file.name, "ui", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=paths.REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"feast ui exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            try:
                if _get(f"{base}/health")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, \
                f"feast ui did not answer on {base}/health within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}"
            time.sleep(0.25)
        yield Ui(base, yaml.safe_load(yaml_file.read_text())["project"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def test_the_page_and_its_script_are_served(ui):
    status, content_type, body = _get(f"{ui.base}/")
    assert status == 200 and content_type.startswith("text/html")
    page = body.decode()
    assert '<div id="root">' in page, page[:500]
    script = page.split('<script defer="defer" src="', 1)[1].split('"', 1)[0]
    status, content_type, bundle = _get(ui.base + script)
    assert status == 200 and "javascript" in content_type and len(bundle) > 100_000
    # the UI's own routes (a browser reload on a view's page) come back as the same page
    status, _, deep = _get(f"{ui.base}/p/{ui.project}/feature-view/player_game_summary")
    assert status == 200 and deep == body


def test_the_projects_list_names_the_project_and_its_registry_path(ui):
    projects = _json(f"{ui.base}/projects-list.json")["projects"]
    assert [(p["id"], p["registryPath"]) for p in projects] == [(ui.project, "/api/v1")]


def test_the_registry_lists_every_view_of_the_catalog(ui):
    views = ui.api("feature_views")["featureViews"]
    served = {(v["type"], v["spec"]["name"]) for v in views}
    batch = {f.view for f in catalog.FEATURES} - set(catalog.ON_DEMAND_VIEWS)
    assert served == {("featureView", v) for v in batch} | {("onDemandFeatureView", v) for v in catalog.ON_DEMAND_VIEWS}
    assert {"player_game_summary", "upcoming_player_game_context", "player_composite_factors",
            "player_points_line"} <= batch
    detail = ui.api("feature_views/player_game_summary")
    assert {f["name"] for f in detail["spec"]["features"]} == {f.name for f in catalog.features_of_view("player_game_summary")}


def test_the_registry_shows_the_feature_service_with_its_features(ui):
    assert SERVICE in {s["spec"]["name"] for s in ui.api("feature_services")["featureServices"]}
    spec = ui.api(f"feature_services/{SERVICE}")["spec"]
    columns = [c["name"] for projection in spec["features"] for c in projection["featureColumns"]]
    assert sorted(columns) == sorted(catalog.PLAYER_POINTS_V1)
    assert spec["tags"]["order"] == ",".join(catalog.PLAYER_POINTS_V1)
    entities = {e["spec"]["name"] for e in ui.api("entities")["entities"]}
    assert {"player", "game"} <= entities
