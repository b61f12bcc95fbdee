"""Benchmark: online retrieval of a 450-player slate, ours vs stock Feast's SQLite online store.

    python -m bench.bench_online                    real season if ../shared/data exists, else a generated one
    python -m bench.bench_online --data sample --calls 300

One run, same registry, same materialized data, same 450 entity rows (player_lookup,
game_id, line_offered: the players of the busiest slate of the season, topped up with
other players to 450), same call: ``FeatureStore.get_online_features(features=<player_points_v1>,
entity_rows=...)`` with the whole feature service (17 features from 4 feature views and
2 on-demand views). Only the online store differs:

- stock: Feast's ``sqlite`` online store (one row per entity and feature), filled by
  Feast's stock local engine;
- ours: ``feast_plugins.online_store.NbaSqliteOnlineStore`` (feature_store.yaml), filled
  by our batch engine (``materialize/engine.py``).

Both stores are materialized up to 6 pm US/Eastern of the slate's date (before tip-off,
after the day's line snapshots), and their responses are compared value by value
before timing. Calls alternate between the two
stores so background load hits both alike. Reported per call: wall-clock p50 and p99
and CPU time p50 (the machine is shared: wall p99 moves with other processes' load,
CPU time does not). Also timed: the same call followed by ``.to_df()``, the slate
function ``serving.online.slate_vectors`` (the lookup plus line, staleness report and
DataFrame in service order; its first step, reading the day's players from the
warehouse, is timed separately) and the write path: ``online_write_batch`` of the same
Feast rows into a fresh store of each kind (and our ``write_arrow``).

The warehouse lives in a temporary data directory (import + transform, or generate +
transform), deleted afterwards unless --keep.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import season
from nbafs import paths

SLATE_SIZE = 450
SERVICE = "player_points_v1"


# --- set-up ------------------------------------------------------------------------------------


def build_warehouse(kind: str) -> str:
    label = season.build_warehouse(kind)
    season.apply()
    return label


def busiest_day():
    """The game date with the most players among those whose players have lines, and its player count."""
    from warehouse import storage

    con = storage.connect()
    return con.execute(
        """
        SELECT c.game_date, count(DISTINCT c.player_lookup) AS n
        FROM nba_analytics.upcoming_player_game_context c
        WHERE c.game_date IN (SELECT DISTINCT game_date FROM nba_analytics.player_points_line_consensus)
        GROUP BY 1 ORDER BY n DESC, c.game_date LIMIT 1
        """
    ).fetchone()


def slate_rows(day: dt.date):
    """450 entity rows: the day's players (first 450), topped up with others at their latest game."""
    from warehouse import storage

    con = storage.connect()
    frame = con.execute(
        """
        WITH latest AS (
            SELECT player_lookup, game_id, game_date, team_abbr, opponent_team_abbr,
                   row_number() OVER (PARTITION BY player_lookup
                                      ORDER BY game_date = ? DESC, game_date <= ? DESC, game_date DESC) AS r
            FROM nba_analytics.upcoming_player_game_context)
        SELECT player_lookup, game_id, game_date, team_abbr, opponent_team_abbr FROM latest WHERE r = 1
        ORDER BY game_date = ? DESC, game_id, player_lookup LIMIT ?
        """,
        [day, day, day, SLATE_SIZE],
    ).df()
    frame["game_date"] = frame["game_date"].dt.date
    return frame


def config_with(online_store: dict, batch_engine: dict | None = None):
    """Our feature_store.yaml's config with another online store (and batch engine)."""
    import yaml
    from feast import RepoConfig

    raw = yaml.safe_load(os.path.expandvars((paths.REPO_ROOT / "feature_store.yaml").read_text()))
    raw["online_store"] = online_store
    if batch_engine is not None:
        raw["batch_engine"] = batch_engine
    config = RepoConfig(**raw)
    config.repo_path = paths.REPO_ROOT
    return config


def stock_store(online_path: Path):
    """A FeatureStore on our registry and offline store, with Feast's own SQLite online store and engine."""
    from feast import FeatureStore

    store = FeatureStore(config=config_with({"type": "sqlite", "path": str(online_path)}, {"type": "local"}))
    views = store.list_feature_views()
    store._get_provider().online_store.update(store.config, [], views, [], store.list_entities(), partial=False)
    return store


def quiet(fn, *args, **kwargs):
    """Run fn with Feast's materialization chatter sent to /dev/null."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


# --- measurement -----------------------------------------------------------------------------------


class Timing:
    def __init__(self, name: str):
        self.name, self.wall, self.cpu = name, [], []

    def run(self, fn):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        self.wall.append(time.perf_counter() - w0)
        self.cpu.append(time.process_time() - c0)
        return out

    def p(self, q: float, cpu: bool = False) -> float:
        xs = sorted(self.cpu if cpu else self.wall)
        return 1000 * xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def alternate(pairs: list[tuple[Timing, object]], calls: int, warmup: int = 10) -> None:
    for _ in range(warmup):
        for _t, fn in pairs:
            fn()
    for _ in range(calls):
        for t, fn in pairs:
            t.run(fn)


def same_values(a: dict, b: dict) -> str:
    if a.keys() != b.keys():
        return f"columns differ: {sorted(set(a) ^ set(b))}"
    for k in a:
        if a[k] != b[k]:
            bad = sum(x != y for x, y in zip(a[k], b[k]))
            return f"{k} differs in {bad} rows"
    return "same values"


def write_rows(store, view_name: str):
    """Feast write tuples (entity key, {feature: Value}, event ts, created ts) of a view's whole table."""
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.type_map import python_values_to_proto_values

    from warehouse import schema, storage

    view = store.get_feature_view(view_name)
    table = storage.read_table(schema.table(view.batch_source.name)).to_pandas()
    keys = [c.name for c in view.entity_columns]
    feats = {f.name: python_values_to_proto_values(table[f.name].tolist(), f.dtype.to_value_type())
             for f in view.features}
    key_protos = {k: python_values_to_proto_values(table[k].tolist(), c.dtype.to_value_type())
                  for k, c in zip(keys, view.entity_columns)}
    rows = []
    for i in range(len(table)):
        ek = EntityKey(join_keys=keys, entity_values=[key_protos[k][i] for k in keys])
        rows.append((ek, {f: v[i] for f, v in feats.items()}, table["event_timestamp"].iloc[i].to_pydatetime(),
                     table["created_at"].iloc[i].to_pydatetime()))
    return view, rows, table


def write_throughput(ours, stock_dir: Path) -> list[tuple[str, int, float]]:
    """Rows per second into a fresh store of each kind, same rows, one batch per view."""
    import pyarrow as pa
    from feast.infra.online_stores.sqlite import SqliteOnlineStore

    from feast_plugins.online_store import NbaSqliteOnlineStore

    view, rows, table = write_rows(ours, "upcoming_player_game_context")
    ours_type = "feast_plugins.online_store.NbaSqliteOnlineStore"
    results = []
    for label, store_cls, cfg in (
        ("stock SqliteOnlineStore.online_write_batch", SqliteOnlineStore,
         config_with({"type": "sqlite", "path": str(stock_dir / "write_stock.db")})),
        ("ours online_write_batch", NbaSqliteOnlineStore,
         config_with({"type": ours_type, "path": str(stock_dir / "write_ours.db")})),
    ):
        s = store_cls()
        s.update(cfg, [], [view], [], [], partial=False)
        t0 = time.perf_counter()
        s.online_write_batch(cfg, view, rows, None)
        results.append((label, len(rows), time.perf_counter() - t0))
    s = NbaSqliteOnlineStore()
    cfg = config_with({"type": ours_type, "path": str(stock_dir / "write_arrow.db")})
    s.update(cfg, [], [view], [], [], partial=False)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    t0 = time.perf_counter()
    s.write_arrow(cfg, view, arrow, "event_timestamp", "created_at")
    results.append(("ours write_arrow (no protobuf)", arrow.num_rows, time.perf_counter() - t0))
    return results


# --- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_online", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("auto", "real", "sample"), default="auto",
                        help="real season (needs ../shared/data), generated sample season, or auto (real when present)")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per store and measurement (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="use this data directory, built by an earlier --keep run (skips the build; kept)")
    args = parser.parse_args(argv)
    if args.calls < 200:
        parser.error("--calls must be at least 200 (p99 needs them)")

    kind = args.data
    if kind == "auto":
        kind = season.default_kind()
    reuse = args.data_dir is not None
    tmp = str(args.data_dir.resolve()) if reuse else tempfile.mkdtemp(prefix="nbafs-bench-online-")
    os.environ[paths.DATA_DIR_ENV] = tmp
    try:
        t0 = time.perf_counter()
        if reuse:
            label = f"the warehouse in {tmp}"
            for name in ("online_store.db", "online_stock.db"):
                for suffix in ("", "-wal", "-shm"):
                    Path(tmp, name + suffix).unlink(missing_ok=True)
            season.apply()
        else:
            print(f"building the warehouse in {tmp} ...", flush=True)
            label = build_warehouse(kind)
        from nbafs import profile, timeline
        from serving import online

        day, day_players = busiest_day()
        # 6 pm US/Eastern, before tip-off: the day's line snapshots (which land around noon) are known.
        at = timeline.noon_eastern(day) + dt.timedelta(hours=6)
        ours = profile.feature_store()
        stock = stock_store(Path(tmp) / "online_stock.db")
        # One registry object for both stores, as in a serving process with one store: Feast keeps
        # its resolved-request cache in a module global keyed by the registry's refresh time, so two
        # registries in one process would evict each other's entries on every alternating call.
        stock._registry = ours.registry
        start = dt.datetime(2025, 8, 1, tzinfo=dt.timezone.utc)
        m0 = time.perf_counter()
        quiet(ours.materialize, start, at)
        m1 = time.perf_counter()
        quiet(stock.materialize, start, at)
        m2 = time.perf_counter()
        print(f"{label}: built in {m0 - t0:.1f} s; materialized to {at:%Y-%m-%d %H:%M} UTC: ours {m1 - m0:.1f} s, "
              f"stock local engine {m2 - m1:.1f} s", flush=True)

        players = slate_rows(day)
        frame, _ = online.slate_vectors(ours, players, at)  # gives line_offered the slate would send
        rows = {"player_lookup": players["player_lookup"].tolist(), "game_id": players["game_id"].tolist(),
                "line_offered": [None if v != v else float(v) for v in frame["line_offered"]]}
        on_day = int((players["game_date"] == day).sum())
        print(f"slate of {day} ({day_players} players in its games): {on_day} of them + {len(players) - on_day} "
              f"others = {len(players)} entity rows, {sum(v is not None for v in rows['line_offered'])} with a line",
              flush=True)

        service_ours = ours.get_feature_service(SERVICE, allow_cache=True)
        service_stock = stock.get_feature_service(SERVICE, allow_cache=True)
        verdict = same_values(ours.get_online_features(features=service_ours, entity_rows=rows).to_dict(),
                              stock.get_online_features(features=service_stock, entity_rows=rows).to_dict())
        print(f"ours vs stock responses: {verdict}", flush=True)

        measures = []
        for what, fn in (
            ("get_online_features(player_points_v1)", lambda s, svc: (lambda: s.get_online_features(features=svc, entity_rows=rows))),
            ("get_online_features(...).to_df()", lambda s, svc: (lambda: s.get_online_features(features=svc, entity_rows=rows).to_df())),
            ("slate: serving.online.slate_vectors", lambda s, svc: (lambda: online.slate_vectors(s, players, at))),
        ):
            t_stock, t_ours = Timing(what), Timing(what)
            alternate([(t_stock, fn(stock, service_stock)), (t_ours, fn(ours, service_ours))], args.calls)
            measures.append((what, t_stock, t_ours))
            print(f"  {what}: stock p50 {t_stock.p(.5):.1f} ms, ours p50 {t_ours.p(.5):.1f} ms", flush=True)
        t_players = Timing("players")
        for _ in range(50):
            t_players.run(lambda: online.slate_players(day))

        writes = write_throughput(ours, Path(tmp))
        load = os.getloadavg()

        print()
        print(f"Online retrieval, {len(players)} entities, feature service {SERVICE} (17 features), "
              f"{args.calls} calls each, alternating stores; load average {load[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'call':<40} {'stock p50':>10} {'stock p99':>10} {'ours p50':>9} {'ours p99':>9} "
              f"{'p50 x':>7} {'p99 x':>7}   CPU p50/p99 stock | ours")
        for what, s, o in measures:
            print(f"{what:<40} {s.p(.5):>8.1f}ms {s.p(.99):>8.1f}ms {o.p(.5):>7.1f}ms {o.p(.99):>7.1f}ms "
                  f"{s.p(.5) / o.p(.5):>6.1f}x {s.p(.99) / o.p(.99):>6.1f}x   "
                  f"{s.p(.5, True):.1f}/{s.p(.99, True):.1f} | {o.p(.5, True):.1f}/{o.p(.99, True):.1f} ms")
        print(f"{'(slate step 0: the day players, warehouse)':<40} {'':>10} {'':>10} {t_players.p(.5):>7.1f}ms "
              f"{t_players.p(.99):>7.1f}ms")
        print()
        n_features = len(ours.get_feature_view("upcoming_player_game_context").features)
        print(f"Online write path, {writes[0][1]:,} rows of upcoming_player_game_context ({n_features} features) "
              "into a fresh store, one batch")
        for name, n, secs in writes:
            print(f"{name:<44} {secs:>7.2f} s {n / secs:>10,.0f} rows/s")
    finally:
        if args.keep or reuse:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
