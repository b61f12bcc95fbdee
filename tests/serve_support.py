"""Test helper: a real ``feast serve`` on loopback, started and stopped by pid (not a test module)."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from nbafs import paths, profile

FEAST = str(Path(sys.executable).parent / "feast")
START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def feast_serve(log: Path, workers: int = 1):
    """``feast -f <profile yaml> serve`` for this process's environment; yields its base URL.

    Stopped with SIGTERM (a clean shutdown: atexit handlers run), then SIGKILL if it hangs.
    """
    port = free_port()
    argv = [FEAST, "-f", profile.yaml_path().name, "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--no-access-log"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=paths.REPO_ROOT, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"feast serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"feast serve did not answer in {START_SECONDS} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def post(url: str, path: str, body: dict) -> tuple[int, dict]:
    """POST a JSON body; (status, parsed JSON answer), 4xx and 5xx included."""
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
