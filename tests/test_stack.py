"""`nbafs stack up|down|status`: the production stand-ins, and the fixtures built on them.

- Through the real CLI: `eval "$(nbafs stack up)"` gives an environment in which BigQuery
  (through warehouse.gcp), GCS and Redis (password and TLS required) work; `status`
  reports each service; a second `up` starts nothing; `down` stops exactly those pids.
- A stand-in that dies at start fails `up` naming it, with its log, and stops the others.
- `down` never kills a pid that is no longer the program it started.
- `prod_env` gives each test a project, a bucket and a Redis of its own.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbafs import paths, stack as stack_mod
from tests.stack_support import prod_environment

BIN = Path(sys.executable).parent

# Run inside `eval "$(nbafs stack up)"`: each client built from the exported environment only.
CHECKS = r'''
import json, os, socket
import redis
from warehouse import gcp
from nbafs import stack

out = {}
out["select_1"] = [tuple(r.values()) for r in gcp.bigquery_client().query("SELECT 1 AS one").result()]
blob = gcp.storage_client().bucket(os.environ["NBAFS_GCS_BUCKET"]).blob("probe/hello.txt")
blob.upload_from_string("hello", if_generation_match=0)
out["gcs"] = blob.download_as_text()
env = dict(os.environ)
out["ping"] = stack.redis_client(env).ping()
try:
    stack.redis_client({**env, "NBAFS_REDIS_PASSWORD": ""}).ping()
    out["no_password"] = "accepted"
except redis.exceptions.RedisError as exc:
    out["no_password"] = str(exc)
try:
    stack.redis_client({**env, "NBAFS_REDIS_TLS": "false"}).ping()
    out["no_tls"] = "accepted"
except redis.exceptions.RedisError as exc:
    out["no_tls"] = type(exc).__name__
print(json.dumps(out))
'''


def _cli_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in stack_mod.ENV_VARS and k != "NBAFS_PROFILE"}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}", **{paths.DATA_DIR_ENV: str(data_dir)})
    return env


def _nbafs(env, *args, check=True):
    proc = subprocess.run([str(BIN / "nbafs"), "stack", *args], cwd=paths.REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _gone(svc: stack_mod.Service) -> bool:
    return stack_mod._start_time(svc.pid) != svc.started


@pytest.mark.prod
def test_stack_cli_up_gives_a_working_environment_status_reports_it_and_down_stops_exactly_its_pids(tmp_path, stack):
    env = _cli_env(tmp_path / "data")
    checks = tmp_path / "checks.py"
    checks.write_text(CHECKS)
    t0 = time.monotonic()
    proc = subprocess.run(
        ["bash", "-c", f'eval "$(nbafs stack up)" && python {checks}'],
        cwd=paths.REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.returncode == 0, proc.stderr
        seen = json.loads(proc.stdout.splitlines()[-1])
        assert seen["select_1"] == [[1]]
        assert seen["gcs"] == "hello"
        assert seen["ping"] is True
        assert "NOAUTH" in seen["no_password"] or "Authentication required" in seen["no_password"]
        assert seen["no_tls"] != "accepted"  # Memorystore-like: TLS only

        directory = tmp_path / "data" / "stack"
        state = directory / "stack.json"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600  # it holds the password
        started = stack_mod.load(directory)
        assert [s.name for s in started.services] == ["bigquery", "gcs", "redis"]
        assert all(s.ports and all(p > 0 for p in s.ports.values()) for s in started.services)
        password = started.env["NBAFS_REDIS_PASSWORD"]

        status = _nbafs(env, "status")
        lines = {line.split()[0]: line for line in status.stdout.splitlines()[2:]}
        for svc in started.services:
            assert str(svc.pid) in lines[svc.name] and lines[svc.name].endswith("answering"), status.stdout
        assert password not in status.stdout + status.stderr

        again = _nbafs(env, "up")
        assert "started nothing" in again.stderr
        lines_out = again.stdout.splitlines()
        assert lines_out and all(line.startswith("export ") for line in lines_out), again.stdout
        assert f"export NBAFS_REDIS_PASSWORD='{password}'" in lines_out
        assert [s.pid for s in stack_mod.load(directory).services] == [s.pid for s in started.services]
        assert password not in again.stderr
    finally:
        down = _nbafs(env, "down", check=False)
    assert down.returncode == 0, down.stderr
    assert down.stdout.startswith("unset NBAFS_GCP_PROJECT BIGQUERY_EMULATOR_HOST")
    assert all(_gone(s) for s in started.services)
    assert not state.exists()
    assert _nbafs(env, "status", check=False).returncode == 1
    # The session's own stack (another directory) was not touched.
    assert all(stack_mod._is_ours(s) for s in stack.services)
    assert [s.name for s in stack_mod.status(stack.directory) if s.answering] == ["bigquery", "gcs", "redis"]
    assert time.monotonic() - t0 < 120


def test_a_stand_in_that_dies_at_start_fails_up_naming_it_with_its_log_and_stops_the_others(tmp_path):
    """A BigQuery emulator that exits at once: the error names it and its log; GCS and Redis are stopped."""
    real = stack_mod.venv_dir()
    broken = tmp_path / "venv"
    (broken / "bin").mkdir(parents=True)
    (broken / "lib").mkdir()
    site = sorted(real.glob("lib/python3*/site-packages"))
    assert site, f"{real}: no site-packages (make stack-install)"
    (broken / "lib" / site[0].parent.name).mkdir()
    (broken / "lib" / site[0].parent.name / "site-packages").symlink_to(site[0])
    fake = broken / "bin" / "local-bigquery"
    fake.write_text("#!/bin/sh\necho 'bind: address already in use (simulated)'\nexit 3\n")
    fake.chmod(0o755)
    directory = tmp_path / "stack"

    with pytest.raises(stack_mod.StackError) as error:
        stack_mod.start(directory, venv=broken, timeout=30, log=lambda msg: None)
    message = str(error.value)
    assert message.startswith("bigquery stand-in (local-bigquery) exited with status 3 before answering at http://127.0.0.1:")
    assert str(directory / "logs" / "bigquery.log") in message
    assert "address already in use (simulated)" in message
    assert not (directory / "stack.json").exists()
    # Every stand-in runs in the stack directory (redis-server in its dir under it): none may be left there.
    left = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            where = Path(os.readlink(cwd))
            if directory.resolve() in (where, *where.parents) and stack_mod._start_time(int(cwd.parent.name)):
                left.append((cwd.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            pass
    assert left == []


def test_missing_emulator_venv_says_to_run_make_stack_install(tmp_path):
    with pytest.raises(stack_mod.StackError, match=r"no .*/none/bin/local-bigquery\): run `make stack-install`"):
        stack_mod.start(tmp_path / "stack", venv=tmp_path / "none", log=lambda msg: None)


def test_down_leaves_alone_a_pid_that_is_no_longer_the_program_it_started(tmp_path):
    """A recorded pid now held by another program, or by the same program started later, is not killed."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        deadline = time.monotonic() + 5  # until the child has exec'd sleep (under load it takes a while)
        while Path(f"/proc/{sleeper.pid}/comm").read_text().strip() != "sleep" and time.monotonic() < deadline:
            time.sleep(0.01)
        started = stack_mod._start_time(sleeper.pid)
        other_program = stack_mod.Service("redis", "/usr/bin/redis-server", sleeper.pid, started, {"tls": 1}, "", "")
        other_start = stack_mod.Service("gcs", "/bin/sleep", sleeper.pid, started - 1, {"http": 1}, "", "")
        lines = stack_mod.stop(stack_mod.Stack(tmp_path, [other_program, other_start], env={}))
        assert lines == [f"redis: pid {sleeper.pid} is no longer redis-server; left alone",
                         f"gcs: pid {sleeper.pid} is no longer sleep; left alone"]
        assert sleeper.poll() is None
        same = stack_mod.Service("gcs", "/bin/sleep", sleeper.pid, started, {"http": 1}, "", "")
        assert stack_mod.stop(stack_mod.Stack(tmp_path, [same], env={})) == [f"gcs: pid {sleeper.pid} stopped"]
        assert sleeper.wait(timeout=5) == -15
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.prod
def test_prod_env_gives_each_test_its_own_project_bucket_and_an_empty_redis(stack, tmp_path):
    from google.api_core.exceptions import NotFound
    from warehouse import gcp

    with pytest.MonkeyPatch.context() as mp:
        first = prod_environment(stack, tmp_path / "a", mp)
        gcp.bigquery_client().create_dataset("nba_raw")
        gcp.storage_client().bucket(first["NBAFS_GCS_BUCKET"]).blob("registry.db").upload_from_string("x")
        stack_mod.redis_client(first).set("feast:key", "v")
    with pytest.MonkeyPatch.context() as mp:
        second = prod_environment(stack, tmp_path / "b", mp)
        assert os.environ["NBAFS_PROFILE"] == "prod"
        assert os.environ[paths.DATA_DIR_ENV] == str(tmp_path / "b" / "nbafs-data")
        assert second["NBAFS_GCP_PROJECT"] != first["NBAFS_GCP_PROJECT"]
        assert second["NBAFS_GCS_BUCKET"] != first["NBAFS_GCS_BUCKET"]
        assert [d.dataset_id for d in gcp.bigquery_client().list_datasets()] == []
        with pytest.raises(NotFound):
            gcp.bigquery_client().get_dataset("nba_raw")
        assert list(gcp.storage_client().list_blobs(second["NBAFS_GCS_BUCKET"])) == []
        assert stack_mod.redis_client(second).dbsize() == 0
