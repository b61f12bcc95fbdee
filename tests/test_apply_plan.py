"""`feast apply` works from the repo root, and a second `feast plan` plans nothing, ever.

Run as a user would: Feast's own CLI (and ``nbafs backfill``) in a subprocess, from the
repository root, with a fresh NBAFS_DATA_DIR. After an apply, a plan must report no
change at all, registry and infrastructure (stock Feast's `feast init` template fails
this: its push source shows up as "Updated" on every plan), and that must still hold
once the store has been materialized: the registry then holds the views' materialization
intervals, which no declaration has, and stock Feast 0.67 reports every materialized
view as "Updated feature view ... batch_source" on every plan (feature_repo/feature_views.py,
``DeclaredFeatureView``, says why). The registry stores the sources' paths relative to
the data directory, so it is the same whichever data directory is in use.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from feature_repo import catalog
from feature_repo.feature_views import FEATURE_VIEWS
from nbafs import paths

BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(tool: str, *args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, paths.DATA_DIR_ENV: str(data_dir), "NBAFS_PROGRESS": "plain"}
    env.pop("NBAFS_PROFILE", None)
    proc = subprocess.run([str(BIN / tool), *args], cwd=paths.REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    proc.stdout = ANSI.sub("", proc.stdout)
    assert proc.returncode == 0, f"{tool} {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def feast(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return run("feast", *args, data_dir=data_dir)


def assert_plans_nothing(data_dir: Path, after: str) -> None:
    out = feast("plan", data_dir=data_dir).stdout
    assert "No changes to registry" in out, f"feast plan after {after}:\n{out}"
    assert "No changes to infrastructure" in out, f"feast plan after {after}:\n{out}"
    for word in ("Created", "Updated", "Deleted"):
        assert word not in out, f"feast plan after {after}:\n{out}"


def store_of(data_dir: Path, monkeypatch):
    from feast import FeatureStore

    from nbafs.profile import yaml_path

    monkeypatch.setenv(paths.DATA_DIR_ENV, str(data_dir))
    return FeatureStore(repo_path=str(paths.REPO_ROOT), fs_yaml_file=yaml_path("local"))


def assert_all_views_materialized(data_dir: Path, monkeypatch) -> None:
    """The precondition of the materialized-store tests: every view has an interval."""
    views = store_of(data_dir, monkeypatch).list_feature_views()
    assert sorted(v.name for v in views) == sorted(FEATURE_VIEWS)
    empty = [v.name for v in views if not v.materialization_intervals]
    assert not empty, f"not materialized, the plan check below would prove nothing: {empty}"


@pytest.fixture(scope="module")
def small_season(tmp_path_factory) -> Path:
    """A generated season (6 teams x 20 games), transformed; no registry, no online store."""
    from transformations.runner import run as transform
    from warehouse import sample_season

    d = tmp_path_factory.mktemp("plan-season")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        sample_season.generate(n_teams=6, games_per_team=20)
        transform(progress=None)
    return d


def game_dates(data_dir: Path) -> tuple[dt.date, dt.date]:
    from warehouse import engine
    from warehouse.schema import PLAYER_GAME_SUMMARY

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(data_dir))
        dates = engine.current().partitions(PLAYER_GAME_SUMMARY)
    return min(dates), max(dates)


def test_apply_on_an_empty_store_then_plan_shows_nothing_to_change(tmp_path, monkeypatch):
    data_dir = tmp_path / "fresh"
    feast("apply", data_dir=data_dir)
    assert (data_dir / "registry.db").exists(), "the registry follows NBAFS_DATA_DIR"
    assert not (paths.REPO_ROOT / "registry.db").exists()

    assert_plans_nothing(data_dir, "feast apply")

    from feast import FileSource

    store = store_of(data_dir, monkeypatch)
    files = [s for s in store.list_data_sources() if isinstance(s, FileSource)]
    assert len(files) == len(FEATURE_VIEWS) and all(s.path.startswith("warehouse/") for s in files), \
        [s.path for s in files]
    assert sorted(s.name for s in store.list_feature_services()) == sorted(catalog.SERVICES)


def test_plan_after_materialize_shows_nothing_to_change_twice(small_season, tmp_path, monkeypatch):
    data_dir = shutil.copytree(small_season, tmp_path / "data")
    first, last = game_dates(data_dir)
    feast("apply", data_dir=data_dir)
    # In-process (the same FeatureStore.materialize as `feast materialize`, one Feast start-up
    # less); the plans below run in fresh processes, as a user's do: in this process the
    # declared objects would be the very ones applied, and could hide the bug.
    store_of(data_dir, monkeypatch).materialize(
        dt.datetime.combine(first, dt.time(), dt.timezone.utc),
        dt.datetime.combine(last + dt.timedelta(days=2), dt.time(), dt.timezone.utc),
    )
    assert_all_views_materialized(data_dir, monkeypatch)

    assert_plans_nothing(data_dir, "feast materialize")
    assert_plans_nothing(data_dir, "feast materialize and a first feast plan")


def test_plan_after_nbafs_backfill_shows_nothing_to_change(small_season, tmp_path, monkeypatch):
    """The backfill's own setup applies the repo (registry empty) before materializing."""
    data_dir = shutil.copytree(small_season, tmp_path / "data")
    first, last = game_dates(data_dir)
    run("nbafs", "backfill", "--start", str(first), "--end", str(last), "--skip-transform", data_dir=data_dir)
    assert_all_views_materialized(data_dir, monkeypatch)

    assert_plans_nothing(data_dir, "nbafs backfill")


def test_declared_view_equals_its_materialized_registry_copy_but_not_a_changed_declaration():
    """What the plan relies on: intervals are run state, every declared property still counts."""
    from feast import FeatureView, Field
    from feast.diff.property_diff import TransitionType
    from feast.diff.registry_diff import diff_registry_objects
    from feast.infra.registry.registry import FeastObjectType
    from feast.types import String

    from feature_repo import feature_views as fvs
    from feature_repo.entities import game, player

    def declared_view(ttl: dt.timedelta) -> FeatureView:
        view = fvs._view("player_points_line", [player, game], fvs.player_points_line.batch_source,
                         ttl, fvs.player_points_line.description)
        view.entity_columns = [Field(name="player_lookup", dtype=String), Field(name="game_id", dtype=String)]
        return view  # as Feast's inference completes it at apply and plan

    declared = declared_view(fvs.player_points_line.ttl)
    in_registry = FeatureView.from_proto(declared.to_proto())
    t0 = dt.datetime(2025, 10, 21, tzinfo=dt.timezone.utc)
    in_registry.materialization_intervals.append((t0, t0 + dt.timedelta(days=1)))
    assert in_registry == declared and not in_registry != declared
    unchanged = diff_registry_objects(in_registry, declared, FeastObjectType.FEATURE_VIEW)
    assert unchanged.transition_type == TransitionType.UNCHANGED, unchanged.feast_object_property_diffs

    shorter = declared_view(dt.timedelta(hours=1))
    assert in_registry != shorter
    changed = diff_registry_objects(in_registry, shorter, FeastObjectType.FEATURE_VIEW)
    assert changed.transition_type == TransitionType.UPDATE
    assert "ttl" in [d.property_name for d in changed.feast_object_property_diffs]
