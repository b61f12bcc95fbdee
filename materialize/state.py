"""Where a store's run state lives, by profile: its checkpoints and its store lock.

    local  files under NBAFS_DATA_DIR:  checkpoints/<project>/<view>.json, locks/store.lock
    prod   objects under gs://$NBAFS_GCS_BUCKET/feast/state/<project>/:
           checkpoints/<view>.json, store.lock   (so runs on different machines see each other)

The batch engine and ``nbafs backfill`` get both from :func:`open`, the one place that
looks at the profile::

    run = state.open(project)
    with run.lock("feast materialize", wait=True, say=print):
        cp = run.checkpoints.begin(...)

``project`` is the Feast project (default: the active profile's yaml). In production a
checkpoint save first checks that this process still holds the store lock's lease.
"""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Iterator

from materialize import lock as lock_mod
from materialize.checkpoint import CheckpointStore, FileCheckpointStore, GcsCheckpointStore
from nbafs import profile

STATE_PREFIX = "feast/state"


@dataclasses.dataclass
class StoreState:
    checkpoints: CheckpointStore
    store_lock: lock_mod.StoreLock

    @contextlib.contextmanager
    def lock(self, purpose: str, wait: bool = True, say: lock_mod.Say | None = None) -> Iterator[lock_mod.StoreLock]:
        """Hold the store lock for the block (re-entrant; see materialize/lock.py)."""
        with lock_mod.hold(self.store_lock, purpose, wait=wait, say=say) as held:
            yield held


def open(project: str | None = None, profile_name: str | None = None) -> StoreState:  # noqa: A001 - state.open reads well
    """The checkpoints and the store lock of ``project`` in the active (or named) profile."""
    project = project or project_name(profile_name)
    if (profile_name or profile.active()) == "prod":
        from warehouse.gcs import ObjectStore

        objects = ObjectStore()
        prefix = f"{STATE_PREFIX}/{project}"
        lease = lock_mod.GcsLease(objects, f"{prefix}/store.lock")
        return StoreState(
            checkpoints=GcsCheckpointStore(objects, f"{prefix}/checkpoints", guard=lambda: _ensure_held(lease.key)),
            store_lock=lease,
        )
    return StoreState(checkpoints=FileCheckpointStore(project), store_lock=lock_mod.FileLock())


def project_name(profile_name: str | None = None) -> str:
    """The Feast project named by the profile's yaml."""
    import yaml

    return yaml.safe_load(profile.yaml_path(profile_name).read_text())["project"]


def _ensure_held(key: str) -> None:
    held = lock_mod.held(key)
    if held is not None:
        held.ensure_held()
