"""Apply feature_repo/ to the registry only when they differ (what ``feast plan`` would report).

    from materialize import registry_sync
    result = registry_sync.sync(store)   # compare; apply only if something differs
    result.summary   # "registry up to date (26 objects), not applied"
                     # "applied: feature view player_stat_form updated (ttl), service player_points_v1 added"

The declarations are the modules ``feast apply`` reads from the repo root (feature_repo/,
the rest is in .feastignore), collected by Feast's own ``parse_repo``; the comparison is
Feast's ``FeatureStore.plan`` (registry objects and infrastructure); the apply is Feast's
``apply_total_with_repo_instance`` on the same parsed objects. Run state that apply itself
adds (materialization intervals) is not a difference (feature_repo/feature_views.py,
``DeclaredFeatureView``). One implementation for every registry the profile's yaml names.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nbafs import paths
from nbafs.errors import UserError

DECLARATIONS = paths.REPO_ROOT / "feature_repo"  # the only folder .feastignore lets feast apply read

# Feast's object kinds as the summary names them (FeastObjectType values, shorter).
_KINDS = {
    "project": "project",
    "data source": "data source",
    "entity": "entity",
    "feature view": "feature view",
    "on demand feature view": "on-demand view",
    "stream feature view": "stream view",
    "label view": "label view",
    "feature service": "service",
    "permission": "permission",
}
_ACTIONS = {"CREATE": "added", "UPDATE": "updated", "DELETE": "deleted"}


@dataclass
class Change:
    kind: str  # "feature view", "service", ..., or "infrastructure"
    name: str
    action: str  # added | updated | deleted
    properties: list[str] = field(default_factory=list)  # what an update changes

    def __str__(self) -> str:
        text = f"{self.kind} {self.name} {self.action}"
        return text + (f" ({', '.join(self.properties)})" if self.properties else "")


@dataclass
class SyncResult:
    objects: int  # declared objects compared (entities, sources, views, services, project)
    changes: list[Change]
    applied: bool
    seconds: dict[str, float]  # declarations, compare, apply

    @property
    def summary(self) -> str:
        if not self.applied:
            return f"registry up to date ({self.objects} objects), not applied"
        added = [c for c in self.changes if c.action == "added"]
        if len(added) == len(self.changes) == self.objects:
            return f"applied: empty registry, {self.objects} objects added"
        shown = [str(c) for c in self.changes[:6]]
        if len(self.changes) > 6:
            shown.append(f"{len(self.changes) - 6} more")
        return "applied: " + ", ".join(shown)

    def as_dict(self) -> dict:
        return {"applied": self.applied, "objects": self.objects, "summary": self.summary,
                "changes": [str(c) for c in self.changes], "seconds": self.seconds}


def declarations():
    """feature_repo/'s Feast objects, as ``feast apply`` from the repo root collects them.

    The modules already imported are used as they are, unless they were built for another
    profile or GCP project than the active one (a process that switched, like the tests):
    those are imported afresh, so the registry never receives another profile's sources.
    """
    from feast.repo_operations import parse_repo

    before = {m for m in sys.modules if _declaring(m)}
    saved = _forget_if_built_for_another_environment()
    try:
        with _in_repo_root():
            repo = parse_repo(DECLARATIONS)
    finally:
        # The rest of the process keeps the modules it had (its own profile's): what the parse
        # imported afresh is used for these declarations only.
        import feature_repo

        for name in [m for m in sys.modules if _declaring(m) and (m in saved or m not in before)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for name, module in saved.items():
            setattr(feature_repo, name.rsplit(".", 1)[1], module)
    return repo


def _declaring(module_name: str) -> bool:
    """feature_repo's modules that build Feast objects for a profile (the catalog is pure data)."""
    return module_name.startswith("feature_repo.") and module_name != "feature_repo.catalog"


def _forget_if_built_for_another_environment() -> dict:
    """Set aside feature_repo's modules (catalog aside: pure data) when their sources or logging follow another
    profile, so the declarations are imported afresh; returns them, for ``declarations`` to put back."""
    from nbafs import profile

    active = profile.active()
    sources = sys.modules.get("feature_repo.data_sources")
    services = sys.modules.get("feature_repo.feature_services")
    stale = sources is not None and sources.SOURCES != sources.build_sources(active)
    if services is not None and not stale:
        stale = any(s.logging_config.to_proto() != services.logging_config(s.name, active).to_proto()
                    for s in services.FEATURE_SERVICES.values() if s.logging_config is not None)
    if not stale:
        return {}
    return {name: sys.modules.pop(name) for name in [m for m in sys.modules if _declaring(m)]}


def plan(store, repo=None) -> tuple[list[Change], int]:
    """What ``feast plan`` reports for the declarations against the store's registry, and how many objects it compared.

    ``repo`` (from :func:`declarations`) is completed in place by Feast's inference, as
    ``feast plan`` and ``feast apply`` do.
    """
    from feast.diff.property_diff import TransitionType
    from feast.feature_view import DUMMY_ENTITY_NAME

    repo = repo if repo is not None else declarations()
    _check_project(store, repo)
    with _quiet():
        registry_diff, infra_diff, _ = store.plan(repo)
    compared = [d for d in registry_diff.feast_object_diffs if d.name != DUMMY_ENTITY_NAME]
    changes = [
        Change(_KINDS.get(d.feast_object_type.value, d.feast_object_type.value), d.name,
               _ACTIONS[d.transition_type.name],
               [p.property_name for p in d.feast_object_property_diffs])
        for d in compared if d.transition_type != TransitionType.UNCHANGED
    ]
    changes += [Change("infrastructure", d.name, _ACTIONS.get(d.transition_type.name, d.transition_type.name.lower()))
                for d in infra_diff.infra_object_diffs if d.transition_type != TransitionType.UNCHANGED]
    return changes, len(compared)


def sync(store) -> SyncResult:
    """Compare feature_repo/ with the store's registry; apply it (``feast apply``) only if they differ."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    repo = declarations()
    seconds["declarations"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    changes, objects = plan(store, repo)
    seconds["compare"] = time.perf_counter() - t0
    if changes:
        t0 = time.perf_counter()
        apply(store, repo)
        seconds["apply"] = time.perf_counter() - t0
    return SyncResult(objects=objects, changes=changes, applied=bool(changes), seconds=seconds)


def apply(store, repo=None) -> None:
    """``feast apply`` of the declarations to the store's registry and infrastructure (the store stays usable)."""
    from feast.repo_operations import apply_total_with_repo_instance

    repo = repo if repo is not None else declarations()
    _check_project(store, repo)
    with _in_repo_root(), _quiet():
        apply_total_with_repo_instance(store, store.project, store.registry, repo, skip_source_validation=False)


def _check_project(store, repo) -> None:
    names = [p.name for p in repo.projects]
    if names != [store.project]:
        raise UserError(
            f"{DECLARATIONS}: expected one Feast Project named {store.project!r} (the yaml's project), "
            f"found {names or 'none'}; declare it in feature_repo/project.py."
        )


@contextlib.contextmanager
def _in_repo_root():
    """Feast names the repo's modules by their path relative to the working directory."""
    cwd = os.getcwd()
    os.chdir(paths.REPO_ROOT)
    try:
        yield Path(paths.REPO_ROOT)
    finally:
        os.chdir(cwd)


@contextlib.contextmanager
def _quiet():
    """Feast's prints and its experimental-feature warning: the caller says what happened."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="On demand feature view is an experimental feature")
        yield
