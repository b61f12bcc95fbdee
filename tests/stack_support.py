"""The production test environment on the session's stand-ins (not a test module).

``prod_environment`` is the body of the ``prod_env`` fixture (tests/conftest.py), kept
here so a test can build two and check that they are isolated: a GCP project and a GCS
bucket of its own (the BigQuery emulator keeps projects apart), an empty Redis, a fresh
NBAFS_DATA_DIR and NBAFS_PROFILE=prod.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from nbafs import paths, stack as stack_mod
from nbafs.profile import PROFILE_ENV
from warehouse import gcp


def prod_environment(stack: stack_mod.Stack, directory: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point this process at ``stack`` with a project and bucket unique to the caller; Redis flushed."""
    tag = uuid.uuid4().hex[:12]
    env = {
        **stack.env,
        PROFILE_ENV: "prod",
        paths.DATA_DIR_ENV: str(directory / "nbafs-data"),
        gcp.PROJECT_ENV: f"nbafs-test-{tag}",
        stack_mod.BUCKET_ENV: f"nbafs-test-{tag}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(gcp.CREDENTIALS_ENV, raising=False)
    stack_mod.create_bucket(env, env[stack_mod.BUCKET_ENV])
    client = stack_mod.redis_client(env)
    try:
        client.flushall()
    finally:
        client.close()
    return env


def redis_dump(env: dict[str, str], project: str = "nba_feature_store") -> dict[bytes, dict[bytes, bytes]]:
    """Every hash of a Feast project's keys in the stand-in Redis (Feast's keys end with the project name)."""
    client = stack_mod.redis_client(env)
    try:
        return {k: client.hgetall(k) for k in client.scan_iter(b"*" + project.encode())}
    finally:
        client.close()
