"""The small generated league in each profile, built once per test session (not a test module).

``local_league`` and ``prod_league`` are the same league (``nbafs generate`` with
``LEAGUE``, then ``nbafs transform``, then ``feast apply``): one in a local data
directory, one in BigQuery on the session's stand-ins (a project and bucket of its own,
the registry in that bucket). Each fixture returns the environment that selects it;
``use(monkeypatch, env)`` points this process at one. Tests only read them: a test
that changes warehouse rows builds its own league with ``build()``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbafs import cli, paths, profile
from nbafs.profile import PROFILE_ENV

LEAGUE = ["--season", "2025-26", "--seed", "3", "--teams", "6", "--games-per-team", "20"]


def build() -> None:
    """Generate, transform and apply the league in the active profile.

    ``feast apply`` runs in a process of its own: feature_repo/ builds its sources for the
    profile active when it is first imported, and this test process switches profiles.
    """
    assert cli.main(["generate", *LEAGUE]) == 0
    assert cli.main(["transform"]) == 0
    applied = subprocess.run([str(Path(sys.executable).parent / "feast"), "-f", profile.yaml_path().name, "apply"],
                             cwd=paths.REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert applied.returncode == 0, applied.stderr


def use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Point this process at a league's environment (the local one unsets NBAFS_PROFILE)."""
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def local_league(tmp_path_factory) -> dict[str, str]:
    env = {paths.DATA_DIR_ENV: str(tmp_path_factory.mktemp("league-local"))}
    with pytest.MonkeyPatch.context() as mp:
        use(mp, env)
        build()
    return env


@pytest.fixture(scope="session")
def prod_league(stack, tmp_path_factory) -> dict[str, str]:
    from tests.stack_support import prod_environment

    with pytest.MonkeyPatch.context() as mp:
        env = prod_environment(stack, tmp_path_factory.mktemp("league-prod"), mp)
        build()
    return env
