"""Benchmark: `feast serve` under load, on four online stores holding the same data.

    python -m bench.bench_serve                      30 teams x 82 games, 1 and 2 workers, 1/8/32 clients
    python -m bench.bench_serve --workers 2 --seconds 10
    python -m bench.bench_serve --tiny               harness check: small league, 1 client, 2 s loops

Stores, one ``feast serve`` each (Feast's CLI, a process of its own on a free 127.0.0.1
port, stopped by pid), all on the same registry and the same materialized rows:

- ``ours-sqlite``:  feature_store.yaml (``NbaSqliteOnlineStore``), the local profile;
- ``ours-redis``:   feature_store.prod.yaml (``NbaRedisOnlineStore``, registry in GCS) on
  the stand-ins (``nbafs stack``: redis-server with AUTH and TLS);
- ``stock-sqlite``: Feast's ``sqlite`` online store;
- ``stock-redis``:  Feast's ``redis`` online store on the same redis-server (database 1).

The stock servers' yamls name Feast's classes only (file registry on the same
registry.db), so they load none of our code: Feast's store and Feast's endpoint.

The season is generated (warehouse/sample_season.py; a day with 15 games has all 450
players). Ours are filled by our batch engine, the stock ones by Feast's local engine,
all up to noon US/Eastern of the slate's day; Redis (prod) is filled by our engine from
the same DuckDB tables a BigQuery materialization reads (the prod registry is applied
with --skip-source-validation: serving reads no BigQuery table). Every request names
``request_time`` = that noon, so the day's values are fresh.

Measured, side by side (the stores take turns within each case): a slate (every player
of the day) and a single player of ``player_points_v1`` through ``/get-online-features``,
with 1, 8 and 32 concurrent keep-alive clients (raw sockets, pre-encoded requests, in
client processes apart from the servers), every loop bounded by --requests and
--seconds; p50, p99, requests per second, client and server CPU. Then, in this
process, where a slate's and a single player's time goes: the request's parsing,
``get_online_features`` (store read, on-demand views, the rest) and the JSON encoding.

Output: the tables on stdout, ``bench_serve.json`` and ``bench_serve.png`` in --out.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICE = "player_points_v1"
STORES = ("ours-sqlite", "ours-redis", "stock-sqlite", "stock-redis")
PROFILE_OF = {"ours-sqlite": "local", "stock-sqlite": "local", "ours-redis": "prod", "stock-redis": "prod"}
STOCK_OF = {"ours-sqlite": "stock-sqlite", "ours-redis": "stock-redis"}
KINDS = ("slate", "single")
GOAL_P99_MS, GOAL_CLIENTS, GOAL_SPEEDUP = 10.0, 8, 3.0
STOCK_REDIS_DB = 1
HOST = "127.0.0.1"
SERVER_START_SECONDS = 180.0
READ_METHODS = ("read_views", "_read_hash_fields", "online_read")
WARMUP_REQUESTS = 1  # per connection, all at once, before the clock starts


# --- the client (stdlib only: it runs in spawned processes that never import Feast) -------------


def http_request(port: int, body: bytes) -> bytes:
    """One pre-encoded keep-alive POST /get-online-features."""
    head = (f"POST /get-online-features HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


def http_health(port: int) -> bytes:
    """GET /health: Feast's cheapest route (a cached registry call), the floor of a request."""
    return f"GET /health HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()


class _Conn:
    __slots__ = ("sock", "buf", "need", "chunked", "t0", "next")

    def __init__(self, port: int, first: int):
        self.sock = socket.create_connection((HOST, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf, self.need, self.chunked, self.t0, self.next = bytearray(), None, False, 0.0, first


def _complete(c: _Conn) -> int | None:
    """Length of the first complete response in c.buf, else None."""
    if c.need is None:
        end = c.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(c.buf[:end]).lower()
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                c.chunked = True
        if length is not None:
            c.need = end + 4 + length
        elif c.chunked:
            c.need = -1
        else:
            raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
    if c.need == -1:
        end = c.buf.find(b"\r\n0\r\n\r\n")
        return None if end < 0 else end + 7
    return c.need if len(c.buf) >= c.need else None


def _drive(conns: list[_Conn], reqs: list[bytes], port: int, cap: int, seconds: float) -> dict:
    """Closed loop: each connection sends its next request when its response is complete.

    Issues at most ``cap`` requests and none after ``seconds``; a connection the server
    closes counts one error and is reopened.
    """
    latencies: list[float] = []
    errors: list[str] = []
    issued = 0
    sel = selectors.DefaultSelector()
    w0 = time.perf_counter()
    deadline = w0 + seconds

    def send(c: _Conn) -> None:
        nonlocal issued
        c.t0 = time.perf_counter()
        c.sock.sendall(reqs[c.next % len(reqs)])
        c.next += len(conns)
        issued += 1

    for c in conns:
        if issued < cap:
            send(c)
            sel.register(c.sock, selectors.EVENT_READ, c)
    while sel.get_map():
        for key, _ in sel.select(timeout=60):
            c = key.data
            data = c.sock.recv(1 << 18)
            if not data:  # closed by the server: count it, reopen, go on
                errors.append("the server closed a keep-alive connection")
                sel.unregister(c.sock)
                c.sock.close()
                fresh = _Conn(port, c.next)
                conns[conns.index(c)] = fresh
                if issued < cap and time.perf_counter() < deadline:
                    send(fresh)
                    sel.register(fresh.sock, selectors.EVENT_READ, fresh)
                continue
            c.buf += data
            n = _complete(c)
            if n is None:
                continue
            now = time.perf_counter()
            latencies.append(now - c.t0)
            if bytes(c.buf[9:12]) != b"200":
                errors.append(bytes(c.buf[:400]).decode("latin-1"))
            del c.buf[:n]
            c.need, c.chunked = None, False
            if issued < cap and now < deadline:
                send(c)
            else:
                sel.unregister(c.sock)
    sel.close()
    return {"latencies": latencies, "errors": errors, "wall": time.perf_counter() - w0}


def client_job(job: dict) -> dict:
    """``job["connections"]`` keep-alive clients in closed loop; latencies in seconds.

    Each connection first sends ``job["warmup"]`` requests (all connections at once);
    the timed loop starts when every client process of the loop is warm (``job["barrier"]``)
    and stops issuing after
    ``job["max_requests"]`` requests or ``job["seconds"]``, whichever comes first.
    """
    port, reqs = job["port"], job["requests"]
    conns = [_Conn(port, i) for i in range(job["connections"])]
    _drive(conns, reqs, port, job["warmup"] * len(conns), 120.0)
    job["barrier"].wait(timeout=300)
    cpu0 = time.process_time()
    result = _drive(conns, reqs, port, job["max_requests"], job["seconds"])
    result["cpu"] = time.process_time() - cpu0
    for c in conns:
        c.sock.close()
    return result


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    store: str
    workers: int
    port: int
    proc: subprocess.Popen
    log: Path

    def cpu_seconds(self) -> float:
        """utime + stime of the server and its workers."""
        return cpu_seconds([self.proc.pid, *_children(self.proc.pid)])


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (Linux /proc); a pid gone counts nothing."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def start_server(store: str, workers: int, command: list[str], env: dict, logs: Path, max_requests: int) -> Server:
    port = free_port()
    log = logs / f"serve-{store}-{workers}w.log"
    argv = [*command, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--max-requests", str(max_requests)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return Server(store, workers, port, proc, log)


def wait_until_serving(server: Server, timeout: float = SERVER_START_SECONDS) -> None:
    import http.client

    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if server.proc.poll() is not None:
            raise RuntimeError(f"feast serve ({server.store}) exited with {server.proc.returncode}:\n"
                               f"{tail(server.log)}")
        try:
            conn = http.client.HTTPConnection(HOST, server.port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"feast serve ({server.store}) did not answer /health on port {server.port} within "
                       f"{timeout:.0f} s:\n{tail(server.log)}")


def stop_server(server: Server) -> None:
    """SIGTERM to the server's pid (gunicorn stops its workers), SIGKILL after 15 s."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def post(port: int, body: bytes) -> dict:
    import http.client

    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    conn.request("POST", "/get-online-features", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"POST /get-online-features on port {port}: HTTP {resp.status}: {data[:500]!r}")
    return json.loads(data)


# --- set-up --------------------------------------------------------------------------------------


@dataclass
class Setup:
    tmp: Path
    day: dt.date
    at: dt.datetime
    rows: dict                # entity columns of the slate (request_time included)
    singles: list[dict]       # one-player entity columns
    with_line: int
    yaml: dict[str, Path]     # store -> feature_store yaml
    env: dict[str, dict]      # store -> environment of its feast serve
    stack: object
    stores: dict = field(default_factory=dict)  # store -> FeatureStore in this process


def quiet(fn, *args, **kwargs):
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


def write_yaml(path: Path, online_store: dict, batch_engine: dict | None = None) -> Path:
    """feature_store.yaml with another online store (and engine); mode 0600 (it may hold a password)."""
    import yaml

    raw = yaml.safe_load((REPO_ROOT / "feature_store.yaml").read_text())
    raw["online_store"] = online_store
    if batch_engine is not None:
        raw["batch_engine"] = batch_engine
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def stock_serving_yaml(path: Path, online_store: dict) -> Path:
    """A yaml of Feast's own classes only (file registry on our registry.db, file offline store).

    Under ``feast serve`` it loads none of our code, so the server is stock Feast's,
    endpoint included (our package adds its own /get-online-features wherever it is loaded).
    """
    import yaml

    from nbafs import paths

    raw = yaml.safe_load((REPO_ROOT / "feature_store.yaml").read_text())
    registry = {"path": str(paths.resolve_in_data_dir(raw["registry"]["path"])),
                "cache_ttl_seconds": raw["registry"]["cache_ttl_seconds"]}
    served = {"project": raw["project"], "provider": "local", "registry": registry,
              "offline_store": {"type": "file"}, "online_store": online_store,
              "entity_key_serialization_version": raw["entity_key_serialization_version"]}
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(served, sort_keys=False))
    return path


def slate_day():
    """The latest day with the most players, most lines first."""
    from warehouse import storage

    return storage.connect().execute(
        """
        SELECT c.game_date, count(DISTINCT c.player_lookup) AS n, count(DISTINCT l.player_lookup) AS lines
        FROM nba_analytics.upcoming_player_game_context c
        LEFT JOIN nba_analytics.player_points_line_consensus l USING (player_lookup, game_id)
        GROUP BY 1 ORDER BY n DESC, lines DESC, c.game_date DESC LIMIT 1
        """
    ).fetchone()


def build(args, tmp: Path, log) -> Setup:
    """Season, registries (local and prod), the four stores materialized, the requests."""
    from feast import FeatureStore

    from feast_plugins.redis_online_store import CLASS_PATH as REDIS_CLASS
    from feast_plugins.staleness import REQUEST_TIME
    from nbafs import paths, stack as stack_mod, timeline
    from nbafs.profile import PROFILE_ENV
    from serving import online
    from transformations import runner
    from warehouse import sample_season

    t0 = time.perf_counter()
    sample_season.generate(season="2025-26", seed=args.seed, n_teams=args.teams, games_per_team=args.games_per_team)
    runner.run(progress=None)
    feast_bin = str(Path(sys.executable).parent / "feast")
    local_env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}
    subprocess.run([feast_bin, "apply"], cwd=REPO_ROOT, env=local_env, check=True, capture_output=True)
    day, n_players, n_lines = slate_day()
    at = timeline.noon_eastern(day)
    log(f"season {args.teams} teams x {args.games_per_team} games (seed {args.seed}) built and applied in "
        f"{time.perf_counter() - t0:.0f} s; slate {day}: {n_players} players, {n_lines} with a line")

    t0 = time.perf_counter()
    stack = stack_mod.start(tmp / "stack", timeout=120, log=lambda msg: None)
    os.environ.update(stack.env)  # NBAFS_REDIS_* for the Redis stores of this process
    os.environ.pop(PROFILE_ENV, None)
    prod_env = {**os.environ, **stack.env, PROFILE_ENV: "prod", paths.DATA_DIR_ENV: str(tmp / "prod-data")}
    applied = subprocess.run([feast_bin, "-f", "feature_store.prod.yaml", "apply", "--skip-source-validation"],
                             cwd=REPO_ROOT, env=prod_env, capture_output=True, text=True)
    if applied.returncode != 0:
        raise RuntimeError(f"feast apply (prod, on the stand-ins) failed:\n{applied.stderr[-2000:]}")
    log(f"stand-ins up, prod registry applied in GCS in {time.perf_counter() - t0:.0f} s")

    redis = stack.env
    stock_redis = ",".join([
        f"{redis['NBAFS_REDIS_HOST']}:{redis['NBAFS_REDIS_PORT']}", f"db={STOCK_REDIS_DB}",
        f"password={redis['NBAFS_REDIS_PASSWORD']}", "ssl=true", "ssl_cert_reqs=required",
        f"ssl_ca_certs={redis['NBAFS_REDIS_CA_CERT']}",
    ])
    stock_online = {"stock-sqlite": {"type": "sqlite", "path": str(tmp / "online_stock.db")},
                    "stock-redis": {"type": "redis", "connection_string": stock_redis}}
    # Served by feast serve: our two profiles' yamls, and stock Feast on Feast's classes only.
    yamls = {"ours-sqlite": REPO_ROOT / "feature_store.yaml", "ours-redis": REPO_ROOT / "feature_store.prod.yaml",
             **{s: stock_serving_yaml(tmp / f"feature_store.{s}.serve.yaml", o) for s, o in stock_online.items()}}
    # Filled (and read in-process) through our registry and DuckDB tables: Redis (prod) by our
    # engine, the stock stores by Feast's local engine.
    filled = {"ours-sqlite": REPO_ROOT / "feature_store.yaml",
              "ours-redis": write_yaml(tmp / "feature_store.ours-redis.fill.yaml", {"type": REDIS_CLASS}),
              **{s: write_yaml(tmp / f"feature_store.{s}.fill.yaml", o, {"type": "local"})
                 for s, o in stock_online.items()}}
    envs = {s: (prod_env if s == "ours-redis" else local_env) for s in STORES}

    start = dt.datetime(2025, 8, 1, tzinfo=dt.timezone.utc)
    stores = {}
    for name, path in filled.items():
        t0 = time.perf_counter()
        fs = FeatureStore(repo_path=str(REPO_ROOT), fs_yaml_file=path)
        if name.startswith("stock"):
            fs._get_provider().online_store.update(fs.config, [], fs.list_feature_views(), [], fs.list_entities(),
                                                   partial=False)
        quiet(fs.materialize, start, at)
        stores[name] = fs
        log(f"  {name}: materialized to {at:%Y-%m-%d %H:%M} UTC in {time.perf_counter() - t0:.1f} s")

    players = online.slate_players(day)
    frame, _ = online.slate_vectors(stores["ours-sqlite"], players, at)
    rows = {"player_lookup": players["player_lookup"].tolist(), "game_id": players["game_id"].tolist(),
            "line_offered": [None if v != v else float(v) for v in frame["line_offered"]],
            # One value per row: stock Feast refuses entity columns of unequal lengths.
            REQUEST_TIME: [at.isoformat().replace("+00:00", "Z")] * len(players)}
    order = sorted(range(len(players)), key=lambda i: rows["line_offered"][i] is None)
    singles = [{k: [v[i]] for k, v in rows.items()} for i in order[:16]]
    with_line = sum(v is not None for v in rows["line_offered"])
    return Setup(tmp, day, at, rows, singles, with_line, yamls, envs, stack, stores)


def body(rows: dict) -> bytes:
    return json.dumps({"feature_service": SERVICE, "entities": rows}, separators=(",", ":")).encode()


# --- checks and measurement ----------------------------------------------------------------------


def summarize_response(resp: dict) -> dict:
    """Feature names, values and statuses of a /get-online-features JSON response."""
    names = resp["metadata"]["feature_names"]
    return {n: (r.get("values"), r.get("statuses")) for n, r in zip(names, resp["results"])}


def compare(reference: dict, other: dict) -> str:
    ref, oth = summarize_response(reference), summarize_response(other)
    if set(ref) != set(oth):
        return f"features differ: {sorted(set(ref) ^ set(oth))}"
    differ = [n for n in ref if ref[n][0] != oth[n][0]]
    if not differ:
        return "same values"
    return "values differ in " + ", ".join(
        f"{n} ({sum(a != b for a, b in zip(ref[n][0], oth[n][0]))} rows)" for n in differ)


def present_share(resp: dict) -> float:
    statuses = [s for _, st in summarize_response(resp).values() for s in (st or [])]
    return sum(s == "PRESENT" for s in statuses) / max(1, len(statuses))


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return 1000 * xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def run_loop(pool, manager, server: Server, requests: list[bytes], clients: int, procs: int, max_requests: int,
             seconds: float, stand_ins: dict[str, int]) -> dict:
    """One closed loop of ``clients`` connections spread over ``procs`` client processes.

    CPU is counted from the start of the timed loop to its end: the clients', the server's
    and each stand-in's (``stand_ins``: name -> pid; redis-server serves the Redis stores,
    the BigQuery emulator takes the prod server's feature log).
    """
    procs = max(1, min(procs, clients))
    barrier = manager.Barrier(procs + 1)  # the client processes, warm, and this one: the clock starts
    jobs = []
    for p in range(procs):
        conns = clients // procs + (1 if p < clients % procs else 0)
        share = max_requests // procs + (1 if p < max_requests % procs else 0)
        jobs.append({"port": server.port, "requests": requests, "connections": conns, "max_requests": share,
                     "seconds": seconds, "barrier": barrier, "warmup": WARMUP_REQUESTS})
    futures = [pool.submit(client_job, j) for j in jobs]
    barrier.wait(timeout=300)
    cpu0 = server.cpu_seconds()
    side0 = {name: cpu_seconds([pid]) for name, pid in stand_ins.items()}
    results = [f.result() for f in futures]
    server_cpu = server.cpu_seconds() - cpu0
    side = {name: round(cpu_seconds([pid]) - side0[name], 3) for name, pid in stand_ins.items()}
    latencies = [x for r in results for x in r["latencies"]]
    wall = max(r["wall"] for r in results)
    errors = [e for r in results for e in r["errors"]]
    return {
        "requests": len(latencies), "errors": len(errors), "error_sample": errors[:1], "seconds": round(wall, 3),
        "rps": round(len(latencies) / wall, 1) if wall else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 2), "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(1000 * max(latencies), 2) if latencies else None,
        "client_cpu_s": round(sum(r["cpu"] for r in results), 3), "client_procs": procs,
        "server_cpu_s": round(server_cpu, 3),
        "server_cpu_ms_per_request": round(1000 * server_cpu / len(latencies), 2) if latencies else None,
        "stand_in_cpu_s": side, "load_average": round(os.getloadavg()[0], 2),
    }


@contextlib.contextmanager
def timed_calls(targets: list[tuple[object, str, str]], stages: dict[str, list[float]]):
    """Add each call's time of ``owner.attr`` to ``stages[stage][-1]`` (restored on exit)."""
    saved = []
    for owner, attr, stage in targets:
        original = getattr(owner, attr, None)
        if original is None:
            continue

        def timed(*a, _fn=original, _stage=stage, **k):
            t = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                stages[_stage][-1] += time.perf_counter() - t

        saved.append((owner, attr, vars(owner).get(attr)))
        setattr(owner, attr, timed)
    try:
        yield
    finally:
        for owner, attr, own in reversed(saved):
            if own is None:
                delattr(owner, attr)  # an instance attribute that hid the class's method
            else:
                setattr(owner, attr, own)


def breakdown(stores: dict, raw: bytes, calls: int) -> dict:
    """Where a request's time goes in this process, per store: p50 ms of each stage over ``calls``.

    parse: the JSON body into Feast's request model (both endpoints do it first);
    get_service: ``store.get_feature_service(name, allow_cache=True)``, which Feast's
    ``_get_features`` calls for every request (both endpoints use it); get_online_features,
    of which read (the store's database read: our ``read_views``, Feast's Redis pipeline
    ``_read_hash_fields`` or Feast's ``online_read``), on_demand
    (the on-demand views) and other (the rest); the JSON encoding of Feast's endpoint
    (``convert_response_to_dict``, then ``json.dumps`` as Starlette calls it) and of ours
    (``feast_plugins.feature_server.encode``, when main has it). served = parse +
    get_online_features + the encoding of the endpoint that serves the store. log_write:
    the feature log's writes of these reads (a background thread; mean ms per read).
    """
    import feast.utils as feast_utils
    from feast.feature_server import GetOnlineFeaturesRequest, convert_response_to_dict

    from feast_plugins import online_serving
    try:
        from feast_plugins.feature_server import encode as ours_encode
    except ImportError:  # a main without our endpoint: Feast's serves every store
        ours_encode = None
    try:
        from feast_plugins import feature_log
    except ImportError:  # a main without feature logging
        feature_log = None

    out = {}
    for name, fs in stores.items():
        online_store = fs._get_provider().online_store
        stages: dict[str, list[float]] = {"read": [], "on_demand": [], "log_write": [0.0]}
        times: dict[str, list[float]] = {k: [] for k in ("parse", "get_service", "get_online_features", "read",
                                                         "on_demand", "to_dict", "json_dumps", "ours_encode")}
        # The store's database read, one method per store: ours, Feast's Redis pipeline, Feast's generic read.
        read_via = next(a for a in READ_METHODS if hasattr(online_store, a))
        targets = [(online_store, read_via, "read")]
        targets += [(feast_utils, "_augment_response_with_on_demand_transforms", "on_demand"),
                    (online_serving, "_apply_on_demand_views", "on_demand")]
        if feature_log is not None:
            feature_log.flush()  # earlier reads' rows, not timed
            targets.append((feature_log, "_write", "log_write"))  # the background writes too
        with timed_calls(targets, stages):
            for i in range(calls + 5):
                stages["read"].append(0.0)
                stages["on_demand"].append(0.0)
                t0 = time.perf_counter()
                request = GetOnlineFeaturesRequest(**json.loads(raw))
                ta = time.perf_counter()
                service = fs.get_feature_service(request.feature_service, allow_cache=True)
                t1 = time.perf_counter()
                response = fs.get_online_features(features=service, entity_rows=request.entities)
                t2 = time.perf_counter()
                as_dict = convert_response_to_dict(response.proto)
                t3 = time.perf_counter()
                json.dumps(as_dict, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
                t4 = time.perf_counter()
                if ours_encode is not None:
                    ours_encode(response)
                t5 = time.perf_counter()
                if i >= 5:  # the first calls warm Feast's caches
                    for k, v in (("parse", ta - t0), ("get_service", t1 - ta), ("get_online_features", t2 - t1),
                                 ("to_dict", t3 - t2),
                                 ("json_dumps", t4 - t3), ("ours_encode", t5 - t4), ("read", stages["read"][-1]),
                                 ("on_demand", stages["on_demand"][-1])):
                        times[k].append(v)
            if feature_log is not None:
                feature_log.flush()
        p50: dict = {k: round(percentile(v, 0.5), 2) for k, v in times.items()}
        # Mean over every read of the loop (all logged, warm-up included), written in batches.
        p50["log_write"] = round(1000 * sum(stages["log_write"]) / (calls + 5), 2)
        p50["other"] = round(p50["get_online_features"] - p50["read"] - p50["on_demand"], 2)
        ours_endpoint = ours_encode is not None and not name.startswith("stock")
        encoding = p50["ours_encode"] if ours_endpoint else p50["to_dict"] + p50["json_dumps"]
        p50["served"] = round(p50["parse"] + p50["get_service"] + p50["get_online_features"] + encoding, 2)
        if ours_encode is None:
            p50["ours_encode"] = None
        p50["read_via"] = f"{type(online_store).__name__}.{read_via}"
        p50["endpoint"] = "ours" if ours_endpoint else "Feast's"
        out[name] = p50
    return out


def wait_for_quiet(max_load: float, timeout: float, log) -> float:
    """Wait until the 1-minute load average is below ``max_load`` (at most ``timeout`` s); returns it."""
    t_end = time.monotonic() + timeout
    load = os.getloadavg()[0]
    if load >= max_load:
        log(f"load average {load:.1f} >= {max_load}: waiting up to {timeout:.0f} s for the machine to quieten")
    while load >= max_load and time.monotonic() < t_end:
        time.sleep(5)
        load = os.getloadavg()[0]
    return load


def flush_feature_log(log) -> None:
    """Write this process's logged vectors now, while the data directory still exists."""
    try:
        from feast_plugins import feature_log
    except ImportError:  # a main without feature logging
        return
    try:
        feature_log.flush()
    except feature_log.FeatureLogError as exc:
        log(f"feature log of the in-process reads not written: {exc}")


# --- output --------------------------------------------------------------------------------------


def print_tables(result: dict) -> None:
    rows, stores = result["loads"], result["stores"]
    players = result["slate"]["players"]
    print()
    print(f"feast serve, POST /get-online-features, feature service {SERVICE}; slate = {players} players, "
          f"single = 1 player; {os.cpu_count()} cores, load average {result['load_average']}")
    print("each cell: p50 / p99 ms, requests per second, CPU ms per request of the client + the server "
          "(+ redis-server for the Redis stores; bq: the BigQuery emulator, taking ours-redis's feature log)")
    header = f"{'workers':>7} {'request':<7} {'clients':>7}  " + "  ".join(f"{s:>36}" for s in stores)
    print(header)
    for w in result["workers"]:
        for kind in KINDS:
            for c in result["clients"]:
                cells = [_cell(rows.get(key(s, w, kind, c)), s) for s in stores]
                print(f"{w:>7} {kind:<7} {c:>7}  " + "  ".join(f"{x:>36}" for x in cells))
        cells = [_cell(rows.get(key(s, w, "health", 1)), s) for s in stores]
        print(f"{w:>7} {'health':<7} {1:>7}  " + "  ".join(f"{x:>36}" for x in cells))
    print("(health: GET /health, the cheapest route of feast serve: its per-request floor)")
    print()
    print(f"Goal: slate p99 < {GOAL_P99_MS:.0f} ms at {GOAL_CLIENTS} clients, and >= {GOAL_SPEEDUP:.0f}x stock "
          f"Feast on the same store and requests (x = stock / ours, p99 and requests per second)")
    for w in result["workers"]:
        for ours, stock in STOCK_OF.items():
            if ours not in stores or stock not in stores:
                continue
            parts = []
            for kind in KINDS:
                for c in result["clients"]:
                    o, s = rows.get(key(ours, w, kind, c)), rows.get(key(stock, w, kind, c))
                    if o and s and o["p99_ms"] and o["rps"]:
                        parts.append(f"{kind}@{c}: p99 {s['p99_ms'] / o['p99_ms']:.1f}x rps {o['rps'] / s['rps']:.1f}x")
            goal = rows.get(key(ours, w, "slate", GOAL_CLIENTS))
            met = "" if goal is None else (f"; slate p99 @ {GOAL_CLIENTS} clients {goal['p99_ms']:.1f} ms "
                                          f"({'meets' if goal['p99_ms'] < GOAL_P99_MS else 'misses'} the goal)")
            print(f"  {w} worker(s), {ours} vs {stock}: " + ", ".join(parts) + met)
    need = GOAL_CLIENTS / (GOAL_P99_MS / 1000)
    best = max((r["rps"] for r in rows.values() if r["kind"] == "slate" and r["clients"] == GOAL_CLIENTS), default=0)
    print(f"  ({GOAL_CLIENTS} clients in closed loop under {GOAL_P99_MS:.0f} ms each need >= {need:.0f} slates/s "
          f"(Little's law); the best measured at {GOAL_CLIENTS} clients: {best:.0f}/s)")
    print()
    print("Where a request's time goes, in-process p50 ms (feast serve adds HTTP, FastAPI and thread hops):")
    cols = ("parse", "get_service", "read", "on_demand", "other", "get_online_features", "to_dict", "json_dumps",
            "ours_encode", "served", "log_write")
    widths = [max(8, len(c)) + 2 for c in cols]
    print(f"{'request':<8}{'store':<14}" + "".join(f"{c:>{w}}" for c, w in zip(cols, widths)))
    for kind, split in result["breakdown"].items():
        for s, b in split.items():
            cells = "".join(f"{'-' if b[c] is None else format(b[c], '.2f'):>{w}}" for c, w in zip(cols, widths))
            print(f"{kind:<8}{s:<14}{cells}   read = {b['read_via']}; served by {b['endpoint']} endpoint")


def _cell(r: dict | None, store: str) -> str:
    """p50 / p99 ms, requests/s, CPU ms per request: client + server (+ redis-server)."""
    if r is None or not r["requests"]:
        return "-"
    per = 1000 / r["requests"]
    cpu = f"{r['client_cpu_s'] * per:.1f}+{r['server_cpu_s'] * per:.1f}"
    side = r["stand_in_cpu_s"]
    if "redis" in store and "redis" in side:
        cpu += f"+{side['redis'] * per:.1f}"
    if PROFILE_OF[store] == "prod" and not store.startswith("stock") and "bigquery" in side:
        cpu += f" bq {side['bigquery'] * per:.1f}"  # the emulator writing the served vectors' log
    err = f" ERR{r['errors']}" if r["errors"] else ""
    return f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} {r['rps']:.0f}/s {cpu}{err}"


def key(store: str, workers: int, kind: str, clients: int) -> str:
    return f"{store}/{workers}w/{kind}/{clients}"


def chart(result: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    stores, rows = result["stores"], result["loads"]
    groups = [(w, c) for w in result["workers"] for c in result["clients"]]
    panels = [("slate", "p99_ms", "slate p99 (ms)"), ("single", "p99_ms", "single player p99 (ms)"),
              ("slate", "rps", "slate requests / s"), ("single", "rps", "single player requests / s")]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4))
    axes = axes.ravel()
    width = 0.8 / len(stores)
    colors = {"ours-sqlite": "tab:blue", "ours-redis": "tab:red", "stock-sqlite": "#9ecae1", "stock-redis": "#fcae91"}
    x = np.arange(len(groups))
    for ax, (kind, metric, title) in zip(axes, panels):
        for i, s in enumerate(stores):
            ys = [rows.get(key(s, w, kind, c), {}).get(metric, np.nan) for w, c in groups]
            ax.bar(x + (i - (len(stores) - 1) / 2) * width, ys, width, label=s, color=colors.get(s))
        if kind == "slate" and metric == "p99_ms":
            ax.axhline(GOAL_P99_MS, color="black", linestyle="--", linewidth=1, label=f"goal {GOAL_P99_MS:.0f} ms")
        if metric == "p99_ms":
            ax.set_yscale("log")
        ax.set_xticks(x, [f"{c} cl\n{w} w" for w, c in groups])
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"feast serve, {SERVICE}: slate of {result['slate']['players']} players, "
                 f"clients (cl) x gunicorn workers (w)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# --- main ----------------------------------------------------------------------------------------


def ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def names(text: str) -> list[str]:
    values = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [v for v in values if v not in STORES]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"unknown store(s) {unknown}; expected some of {', '.join(STORES)}")
    return [s for s in STORES if s in values]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.bench_serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teams", type=int, default=30, help="teams of the generated league (default %(default)s)")
    parser.add_argument("--games-per-team", type=int, default=82, help="(default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    parser.add_argument("--stores", type=names, default=list(STORES), help=f"(default {','.join(STORES)})")
    parser.add_argument("--workers", type=ints, default=[1, 2], help="feast serve --workers, each tried (default 1,2)")
    parser.add_argument("--clients", type=ints, default=[1, 8, 32], help="concurrent clients (default 1,8,32)")
    parser.add_argument("--requests", type=int, default=3000,
                        help="at most this many requests per loop (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=6.0, help="at most this long per loop (default %(default)s)")
    parser.add_argument("--client-procs", type=int, default=2,
                        help="client processes per loop, sharing its connections (default %(default)s)")
    parser.add_argument("--max-requests", type=int, default=0,
                        help="feast serve --max-requests: a worker restarts after this many (Feast's default "
                             "1000); 0 = never, the steady state (default %(default)s)")
    parser.add_argument("--breakdown-calls", type=int, default=100,
                        help="in-process calls per store and request (default %(default)s)")
    parser.add_argument("--max-load", type=float, default=None,
                        help="before each round of servers, wait (up to --max-load-wait s) until the 1-minute "
                             "load average is below this (default: no wait)")
    parser.add_argument("--max-load-wait", type=float, default=600.0, help="(default %(default)s)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "bench",
                        help="where bench_serve.json and bench_serve.png go (default data/bench)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--tiny", action="store_true",
                        help="harness check: 6 teams x 20 games, 1 worker, 1 client, 40 requests or 2 s per loop")
    args = parser.parse_args(argv)
    if args.tiny:
        args.teams, args.games_per_team, args.workers, args.clients = 6, 20, [1], [1]
        args.requests, args.seconds, args.breakdown_calls = 40, 2.0, 5
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from nbafs import paths, stack as stack_mod

    tmp = Path(tempfile.mkdtemp(prefix="nbafs-bench-serve-"))
    os.environ[paths.DATA_DIR_ENV] = str(tmp / "data")
    logs = tmp / "logs"
    logs.mkdir()
    setup = None
    servers: list[Server] = []
    pool = manager = None

    def log(msg):
        print(msg, flush=True)

    try:
        log(f"building in {tmp} ...")
        setup = build(args, tmp, log)
        slate_body = body(setup.rows)
        bodies = {"slate": [slate_body], "single": [body(r) for r in setup.singles]}

        if args.max_load is not None:
            wait_for_quiet(args.max_load, args.max_load_wait, log)
        log("in-process breakdown of a slate ...")
        measured = {s: setup.stores[s] for s in args.stores}
        split = {kind: breakdown(measured, bodies[kind][0], args.breakdown_calls) for kind in KINDS}

        stand_ins = {svc.name: svc.pid for svc in setup.stack.services if svc.name in ("redis", "bigquery")}
        spawn = multiprocessing.get_context("spawn")  # client processes that never import Feast
        pool = ProcessPoolExecutor(max_workers=max(1, args.client_procs), mp_context=spawn)
        manager = spawn.Manager()
        loads: dict[str, dict] = {}
        checks: dict[str, dict] = {}
        turn = 0
        for workers in args.workers:
            if args.max_load is not None:
                wait_for_quiet(args.max_load, args.max_load_wait, log)
            t0 = time.perf_counter()
            servers = [start_server(s, workers, [str(Path(sys.executable).parent / "feast"), "-f", str(setup.yaml[s])],
                                    setup.env[s], logs, args.max_requests) for s in args.stores]
            for server in servers:
                wait_until_serving(server)
            log(f"{workers} worker(s): {len(servers)} servers up in {time.perf_counter() - t0:.0f} s")
            responses = {s.store: post(s.port, slate_body) for s in servers}
            reference = responses[args.stores[0]]
            for s in servers:
                checks[f"{s.store}/{workers}w"] = {
                    "present_share": round(present_share(responses[s.store]), 4),
                    "vs_" + args.stores[0]: compare(reference, responses[s.store]),
                }
                log(f"  {s.store}: {checks[f'{s.store}/{workers}w']}")
            for kind in KINDS:
                for clients in args.clients:
                    turn += 1
                    order = servers[turn % len(servers):] + servers[:turn % len(servers)]
                    for server in order:
                        reqs = [http_request(server.port, b) for b in bodies[kind]]
                        r = run_loop(pool, manager, server, reqs, clients, args.client_procs, args.requests,
                                     args.seconds, stand_ins)
                        loads[key(server.store, workers, kind, clients)] = {
                            "store": server.store, "workers": workers, "kind": kind, "clients": clients, **r}
                        log(f"  {server.store:<13} {kind:<6} {clients:>2} clients: p50 {r['p50_ms']:.1f} ms, "
                            f"p99 {r['p99_ms']:.1f} ms, {r['rps']:.0f}/s ({r['requests']} requests"
                            f"{', %d errors' % r['errors'] if r['errors'] else ''})")
            for server in servers:  # the floor: Feast's /health, one client
                r = run_loop(pool, manager, server, [http_health(server.port)], 1, 1, args.requests, args.seconds,
                             stand_ins)
                loads[key(server.store, workers, "health", 1)] = {
                    "store": server.store, "workers": workers, "kind": "health", "clients": 1, **r}
                log(f"  {server.store:<13} GET /health 1 client: p50 {r['p50_ms']:.2f} ms, {r['rps']:.0f}/s")
            for server in servers:
                stop_server(server)
            servers = []

        result = {
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                     text=True).stdout.strip(),
            "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2),
            "league": {"teams": args.teams, "games_per_team": args.games_per_team, "seed": args.seed},
            "slate": {"day": setup.day.isoformat(), "request_time": setup.rows["request_time"][0],
                      "players": len(setup.rows["player_lookup"]), "with_line": setup.with_line,
                      "request_bytes": len(slate_body)},
            "bounds": {"requests": args.requests, "seconds": args.seconds, "client_procs": args.client_procs,
                       "max_requests": args.max_requests},
            "stores": args.stores, "workers": args.workers, "clients": args.clients,
            "checks": checks, "loads": loads, "breakdown": split,
        }
        flush_feature_log(log)
        print_tables(result)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_serve.json").write_text(json.dumps(result, indent=1) + "\n")
        png = chart(result, args.out / "bench_serve.png")
        print(f"\nwritten: {args.out / 'bench_serve.json'}, {png}")
        return 0
    finally:
        for server in servers:
            stop_server(server)
        if pool is not None:
            pool.shutdown()
            manager.shutdown()
        if setup is not None:
            stack_mod.stop(setup.stack)
        elif (tmp / "stack").exists():
            stack_mod.stop(tmp / "stack")
        if args.keep:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
