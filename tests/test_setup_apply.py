"""``nbafs backfill`` applies feature_repo/ only when it differs from the registry, and says which.

Run as a user would: ``nbafs backfill`` and ``feast plan`` in subprocesses, on the real Feast
registry of a fresh NBAFS_DATA_DIR. A first backfill applies everything; a second applies
nothing and says so; a copy of the repository whose declarations changed (a view's ttl, one
more service) is applied by its next backfill, which names both changes, after which
``feast plan`` plans nothing; the original repository's next backfill puts its own ttl back.
The production profile goes through the same comparison (materialize/registry_sync.py) on
the stand-ins' GCS registry.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nbafs import paths
from tests.test_apply_plan import ANSI, assert_plans_nothing, game_dates, run, small_season  # noqa: F401 - fixture

COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", ".venv-stack", "data", "build", "__pycache__", "*.egg-info",
                                     ".pytest_cache", ".hypothesis", "node_modules")


def setup_line(proc: subprocess.CompletedProcess) -> str:
    """The progress display's setup line (on stderr, beside the report on stdout)."""
    return next(line for line in ANSI.sub("", proc.stderr).splitlines() if line.startswith("setup: "))


def report_setup(data_dir: Path, first, last) -> dict:
    return json.loads((data_dir / "reports" / f"backfill_{first}_{last}.json").read_text())["setup"]


def backfill_in(repo: Path, data_dir: Path, first, last) -> subprocess.CompletedProcess:
    """``nbafs backfill`` of a repository copy: its own nbafs, feature_repo/ and yaml (PYTHONPATH first)."""
    env = {**os.environ, paths.DATA_DIR_ENV: str(data_dir), "NBAFS_PROGRESS": "plain", "PYTHONPATH": str(repo)}
    env.pop("NBAFS_PROFILE", None)
    proc = subprocess.run([sys.executable, "-m", "nbafs.cli", "backfill", "--start", str(first), "--end", str(last),
                           "--skip-transform"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"backfill in {repo} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def changed_copy(tmp_path: Path) -> Path:
    """The repository with player_stat_form's ttl at 2 days (instead of 1) and a service player_probe_v1 added."""
    repo = shutil.copytree(paths.REPO_ROOT, tmp_path / "repo", ignore=COPY_IGNORE)
    views = repo / "feature_repo" / "feature_views.py"
    text = views.read_text()
    declared = re.search(r'player_stat_form = _view\(\n\s+"player_stat_form", \[player\], player_stat_form_source, '
                         r'timedelta\(days=1\)', text)
    assert declared, "feature_repo/feature_views.py no longer declares player_stat_form as this test expects"
    views.write_text(text.replace(declared.group(0), declared.group(0).replace("timedelta(days=1)", "timedelta(days=2)")))
    services = repo / "feature_repo" / "feature_services.py"
    services.write_text(services.read_text() + (
        '\nplayer_probe_v1 = FeatureService(name="player_probe_v1", '
        'features=[FEATURE_VIEWS["player_stat_form"]], description="test_setup_apply only")\n'))
    return repo


def test_a_backfill_applies_only_what_differs_from_the_registry_and_says_which(small_season, tmp_path):
    data_dir = shutil.copytree(small_season, tmp_path / "data")
    first, last = game_dates(data_dir)
    args = ("backfill", "--start", str(first), "--end", str(last), "--skip-transform")

    line = setup_line(run("nbafs", *args, data_dir=data_dir))
    assert re.search(r"applied: empty registry, \d+ objects added", line), line
    assert report_setup(data_dir, first, last)["applied"] is True

    line = setup_line(run("nbafs", *args, data_dir=data_dir))
    objects = re.search(r"registry up to date \((\d+) objects\), not applied", line)
    assert objects, line
    setup = report_setup(data_dir, first, last)
    assert setup["applied"] is False and setup["changes"] == [] and "apply" not in setup["seconds"]
    # entities, sources, views, on-demand views, services and the project
    assert int(objects.group(1)) == setup["objects"] >= 20

    repo = changed_copy(tmp_path)
    line = setup_line(backfill_in(repo, data_dir, first, last))
    assert "applied: " in line, line
    changes = report_setup(data_dir, first, last)["changes"]
    assert "service player_probe_v1 added" in changes, changes
    ttl = [c for c in changes if c.startswith("feature view player_stat_form updated")]
    assert ttl and "ttl" in ttl[0], changes
    assert {c.split(" updated")[0] for c in changes if "updated" in c} == {"feature view player_stat_form"}, changes
    assert "feature view player_stat_form updated" in line and "service player_probe_v1 added" in line, line

    env_plan = subprocess.run([str(Path(sys.executable).parent / "feast"), "plan"], cwd=repo,
                              env={**{k: v for k, v in os.environ.items() if k != "NBAFS_PROFILE"},
                                   paths.DATA_DIR_ENV: str(data_dir), "PYTHONPATH": str(repo)},
                              capture_output=True, text=True, timeout=300)
    assert env_plan.returncode == 0, env_plan.stderr
    assert "No changes to registry" in ANSI.sub("", env_plan.stdout), env_plan.stdout

    # The original declarations again: the ttl goes back, the copy's extra service is deleted.
    run("nbafs", *args, data_dir=data_dir)
    changes = report_setup(data_dir, first, last)["changes"]
    assert "service player_probe_v1 deleted" in changes and any(
        c.startswith("feature view player_stat_form updated") for c in changes), changes
    assert_plans_nothing(data_dir, "the original repository's backfill")


@pytest.mark.prod
def test_the_production_registry_in_gcs_goes_through_the_same_comparison(prod_env, monkeypatch):
    """On the stand-ins: a registry applied by ``feast apply`` is up to date; a service missing from it is applied.

    This process imported feature_repo/ for another environment (the local profile at
    collection, or another test's GCP project): the comparison must use this test's
    production sources (BigQuery, its own project), or it would apply the others.
    """
    from feast import BigQuerySource, PushSource, RequestSource

    from materialize import registry_sync
    from nbafs.profile import feature_store
    from tests import league

    monkeypatch.setenv("NBAFS_PROGRESS", "plain")
    league.build()  # generate, transform, and `feast apply` in a process of its own
    store = feature_store()
    assert type(store.registry._registry_store).__name__ == "NbaGCSRegistryStore"

    first = registry_sync.sync(store)
    assert not first.applied and first.changes == [], first.summary
    assert first.summary == f"registry up to date ({first.objects} objects), not applied"
    sources = [s for s in registry_sync.declarations().data_sources if not isinstance(s, (PushSource, RequestSource))]
    assert sources and all(isinstance(s, BigQuerySource) and s.table.startswith(prod_env["NBAFS_GCP_PROJECT"] + ".")
                           for s in sources), [getattr(s, "table", s) for s in sources]

    store.registry.delete_feature_service("player_pra_v1", store.project)
    second = registry_sync.sync(feature_store())
    assert second.applied and [str(c) for c in second.changes] == ["service player_pra_v1 added"], second.summary
    assert second.summary == "applied: service player_pra_v1 added"

    third = registry_sync.sync(feature_store())
    assert not third.applied, third.summary
