"""The main job end to end: what ``make demo`` runs.

    nbafs demo [--data PATH] [--predict-date D] [--seed N] [--teams N --games-per-team N] [--reset]

1. data        generate the sample season (30 teams, 82 games each; ``--seed``), or import
               PATH (``--data ../shared/data/nba_2025_26``, any folder of files in the
               supported formats)
2. transform   the phase transformations over the whole season
3. apply       ``feast apply``: the feature repo into the registry
4. backfill    ``nbafs backfill`` of the dates before the predicted slate (transform,
               materialize through our engine, quality gates, verify)
5. train       a model per market (points, rebounds, assists, threes, pra) on the earlier
               dates (point-in-time training sets through each market's feature service,
               one time split), judged against the season and last-N averages and against
               the books (hit rate vs break-even, ROI with intervals, Brier vs the market)
6. materialize ``feast materialize-incremental`` up to noon US/Eastern of the slate date
7. predict     every market for every player of that date's games, from the online store
8. skew        online vectors against historical retrieval at the same time (must be 0)
   consistency the vectors served on the slate date (logged by the store) replayed through
               historical retrieval at their request times (``nbafs consistency``; must be 0)
9. outcome     every market's predictions against what then happened (MAE, calls hit)
10. charts     PNGs under <data dir>/reports/

The slate date defaults to the game date three quarters of the way through the season.

The demo builds its store from scratch in NBAFS_DATA_DIR (default data/): it clears the
warehouse, the registry, the online store, the checkpoints and the models there. It does so only
in a directory it made itself (marked by a ``.nbafs-demo`` file) or an empty one;
``--reset`` allows it elsewhere. Re-running it is safe. With ``NBAFS_PROFILE=prod`` it
runs on the local stand-ins (``nbafs stack up``; ``make prod-demo``); against real GCP
it refuses without ``--reset``, since it writes a sample season into the warehouse.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nbafs import paths
from nbafs.errors import UserError
from nbafs.timeline import argparse_date, noon_eastern

MARKER = ".nbafs-demo"
STORE_STATE = ("warehouse", "registry.db", "online_store.db", "checkpoints", "locks", "models")
SLATE_FRACTION = 0.75


@dataclass
class Step:
    name: str
    seconds: float
    detail: str


@dataclass
class DemoResult:
    data_dir: Path
    predict_date: dt.date
    steps: list[Step] = field(default_factory=list)
    train_metrics: dict | None = None  # the points model's metrics
    markets: object = None  # model.train.MarketsRun: every market's model and evaluation
    slate: object = None  # model.predict.SlatePrediction
    outcome: dict | None = None
    skew: object = None  # model.skew.SkewReport
    consistency: object = None  # serving.consistency.Report
    charts: list[Path] = field(default_factory=list)


# --- the data directory ---------------------------------------------------------------

def check_production_target(reset: bool) -> None:
    """In the prod profile the demo writes a sample season into the warehouse: stand-ins only, or --reset.

    Against real GCP it would replace the season's partitions of ``NBAFS_GCP_PROJECT``'s
    tables, so it runs there only when asked in so many words.
    """
    from nbafs import profile
    from warehouse import gcp

    if profile.active() != "prod" or reset:
        return
    real = [name for name in (gcp.BIGQUERY_EMULATOR_ENV, gcp.STORAGE_EMULATOR_ENV) if not os.environ.get(name, "").strip()]
    if real:
        raise UserError(
            f"NBAFS_PROFILE=prod nbafs demo writes a sample season into BigQuery project {gcp.project()}, and "
            f"{' and '.join(real)} {'is' if len(real) == 1 else 'are'} unset: that is Google's service, not the "
            f'stand-ins. Run it on the stand-ins (eval "$(nbafs stack up)", or make prod-demo), or pass --reset '
            f"if you mean to overwrite that project's tables."
        )


def prepare_data_dir(reset: bool) -> Path:
    """Clear the store state the demo rebuilds, if the directory is the demo's (or --reset)."""
    check_production_target(reset)
    d = paths.data_dir()
    present = [name for name in STORE_STATE if (d / name).exists()]
    if present and not (d / MARKER).exists() and not reset:
        raise UserError(
            f"{d} already holds a feature store the demo did not make ({', '.join(present)}). The demo builds its "
            f"store from scratch and would delete them. Run it elsewhere (NBAFS_DATA_DIR=data/demo nbafs demo) "
            f"or pass --reset to clear {d}."
        )
    for name in present:
        p = d / name
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    (d / MARKER).write_text("made by `nbafs demo`; its store state is rebuilt on every run\n")
    return d


# --- the steps ------------------------------------------------------------------------

def load_data(data: Path | None, seed: int, n_teams: int = 30, games_per_team: int = 82) -> str:
    if data is None:
        from warehouse.sample_season import generate

        out = generate(season="2025-26", seed=seed, n_teams=n_teams, games_per_team=games_per_team)
        return (f"sample season 2025-26: {n_teams} teams x {games_per_team} games, seed {seed}, "
                f"{out.get('nba_raw.bdl_player_boxscores', 0):,} box score rows")
    from warehouse.importers import import_paths

    if not data.exists():
        raise UserError(f"--data {data}: no such file or folder")
    out = import_paths([data])
    return f"imported {data}" + _rows_note(out)


def _rows_note(out) -> str:
    if isinstance(out, dict) and out:
        parts = [f"{k.split('.')[-1]} {v:,}" for k, v in out.items() if isinstance(v, int)]
        return f" ({', '.join(parts)})" if parts else ""
    return ""


def game_dates() -> list[dt.date]:
    from warehouse import engine
    from warehouse.schema import SCHEDULE

    return engine.current().partitions(SCHEDULE)


def choose_predict_date(dates: list[dt.date], requested: dt.date | None) -> dt.date:
    if not dates:
        raise UserError("the warehouse has no games (nba_raw.schedule is empty) after loading the data")
    if requested is None:
        return dates[min(int(SLATE_FRACTION * len(dates)), len(dates) - 1)]
    if requested not in dates:
        near = min(dates, key=lambda d: abs((d - requested).days))
        raise UserError(f"--predict-date {requested} has no games in nba_raw.schedule; the nearest game date is {near}")
    earlier = [d for d in dates if d < requested]
    if len(set(earlier)) < 10:
        raise UserError(f"--predict-date {requested} leaves only {len(earlier)} earlier game dates to train on; "
                        f"choose a date after {dates[min(10, len(dates) - 1)]}")
    return requested


def feast_apply() -> str:
    from feast.repo_operations import apply_total

    from nbafs.profile import feature_store

    import contextlib
    import io
    import os

    store = feature_store()
    cwd = os.getcwd()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Feast prints each view it deploys
            apply_total(store.config, paths.REPO_ROOT, skip_source_validation=False)
    finally:
        os.chdir(cwd)  # apply_total changes into the repo
    return "feature_repo/ into the registry"


def outcome(slate) -> dict:
    """Every market's slate predictions against the box scores of that date (players who played).

    Per market: the model's MAE and the season average's on the same players, and the
    calls made against the line known at noon (over when P(over) > 50%), hit, missed or
    pushed. ``table``: one row per (player, market) that played, with ``actual``.
    """
    from model.dataset import label_for
    from model.outcomes import slate_outcomes
    from warehouse.markets import market as market_named

    actual = slate_outcomes(slate.day)
    played = actual[actual["minutes"] > 0]
    per_market, frames = {}, []
    for name in slate.models:
        m = market_named(name)
        rows = slate.market(name)
        vectors = slate.vectors[name][["player_lookup", f"{m.stat}_avg_season"]]
        t = rows.merge(played[["player_lookup", "game_id", label_for(m)]], on=["player_lookup", "game_id"], how="inner")
        t = t.merge(vectors, on="player_lookup", how="left").rename(columns={label_for(m): "actual",
                                                                           f"{m.stat}_avg_season": "season_avg"})
        t = t[t["actual"].notna()].reset_index(drop=True)
        y, pred, season = (t[c].to_numpy(dtype=float) for c in ("actual", "predicted", "season_avg"))
        has_season = ~np.isnan(season)
        called = t["call"].isin(["over", "under"]) & t["line"].notna()
        decided = called & (t["actual"] != t["line"])
        hit = decided & ((t["actual"] > t["line"]) == (t["call"] == "over"))
        t["result"] = np.where(~called, None, np.where(~decided, "push", np.where(hit, "hit", "miss")))
        per_market[name] = {
            "played": int(len(t)),
            "model_mae": float(np.mean(np.abs(y - pred))) if len(t) else None,
            "season_avg_mae": float(np.mean(np.abs(y - season)[has_season])) if has_season.any() else None,
            "model_mae_same_rows": float(np.mean(np.abs(y - pred)[has_season])) if has_season.any() else None,
            "calls": int(called.sum()), "decided": int(decided.sum()), "hits": int(hit.sum()),
        }
        frames.append(t)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return {
        "slate_players": int(slate.table["player_lookup"].nunique()),
        "played": int(played["player_lookup"].nunique()),
        "markets": per_market,
        "table": table,
    }


# --- the run ----------------------------------------------------------------------------

def demo(data: Path | None = None, predict_date: dt.date | None = None, seed: int = 0,
         reset: bool = False, display=None, n_teams: int = 30, games_per_team: int = 82,
         without: tuple[str, ...] = ("availability",)) -> DemoResult:
    # Feast modules call warnings.simplefilter("once", RuntimeWarning) when first imported,
    # which would undo the per-step filter below: import them first.
    import feast.batch_feature_view  # noqa: F401
    import feast.repo_operations  # noqa: F401
    import feast.stream_feature_view  # noqa: F401

    from materialize import progress

    d = prepare_data_dir(reset)
    result = DemoResult(data_dir=d, predict_date=predict_date)  # type: ignore[arg-type]
    own = display is None
    display = display or progress.Display(title="nbafs demo")
    with (display if own else _nullcontext(display)):
        def step(name, fn):
            """Run one step between a start and an end line; the long ones (backfill, materialize)
            show their own bars on the same display."""
            display.line(f"▶ {name}")
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                # Feast warns on every on-demand view use that the feature is experimental.
                warnings.filterwarnings("ignore", message="On demand feature view is an experimental feature")
                detail = fn()
            if isinstance(detail, tuple):
                detail = detail[0]
            result.steps.append(Step(name, time.perf_counter() - t0, str(detail)))
            display.line(f"✓ {name} ({time.perf_counter() - t0:.1f}s): {detail}")

        step("data", lambda: load_data(data, seed, n_teams, games_per_team))
        dates = game_dates()
        day = choose_predict_date(dates, predict_date)
        result.predict_date = day
        first, last_train = dates[0], max(x for x in dates if x < day)

        step("transform", lambda: _transform(display))
        step("apply", feast_apply)
        step("backfill", lambda: _backfill(first, last_train))

        def _train():
            from model.train import train_markets

            say = lambda line: display.line("  " + line.strip())  # noqa: E731
            run = result.markets = train_markets(first, last_train, without=without, progress=say)
            points = run.results["points"]
            result.train_metrics = points.metrics
            ev = points.metrics["eval"]
            return (f"{len(run.results)} markets, {points.metrics['train']['rows']:,} rows each to "
                    f"{points.metrics['train']['last_date']}, evaluated on {ev['rows']:,} from {ev['first_date']}"
                    + (f"; each also without {'+'.join(without)}" if without else ""),
                    points.metrics["train"]["rows"] + ev["rows"])
        step("train", _train)
        step("materialize", lambda: _materialize_to(day))

        def _predict():
            from model.predict import predict

            result.slate = predict(day)
            t = result.slate.table
            return (f"{t['player_lookup'].nunique()} players x {len(result.slate.models)} markets, "
                    f"{int(t['line'].notna().sum())} rows with a line", len(t))
        step("predict", _predict)

        def _skew():
            from model.skew import skew

            result.skew = skew(day, at=noon_eastern(day))
            return f"{result.skew.players} players x {len(result.skew.per_feature)} features: {result.skew.mismatches} mismatches"
        step("skew", _skew)

        def _consistency():
            from feast_plugins import feature_log
            from serving.consistency import consistency

            feature_log.flush()  # the slate's reads above, written now rather than by the flusher
            r = result.consistency = consistency(day, day)
            return f"{r.rows:,} served rows of {day} x {len(r.features)} features replayed: {r.mismatches} mismatches"
        step("consistency", _consistency)

        def _outcome():
            result.outcome = outcome(result.slate)
            o = result.outcome
            hits = sum(m["hits"] for m in o["markets"].values())
            decided = sum(m["decided"] for m in o["markets"].values())
            return (f"{o['played']} of {o['slate_players']} played; points MAE {o['markets']['points']['model_mae']:.2f}; "
                    f"{hits} of {decided} decided calls hit", o["played"])
        step("outcome", _outcome)
        step("charts", lambda: _charts(result))
    return result


class _nullcontext:
    def __init__(self, obj):
        self.obj = obj

    def __enter__(self):
        return self.obj

    def __exit__(self, *exc):
        return False


def _transform(display=None) -> tuple[str, int]:
    """The whole season, so that the slate date's upcoming-game rows exist too."""
    from transformations.runner import run as run_transforms

    say = (lambda line: display.line("  " + line.strip())) if display is not None else None
    report = run_transforms(progress=say)
    rows = sum(t.rows for t in report.tables)
    return f"{rows:,} rows, {report.start}..{report.end}", rows


def _backfill(start: dt.date, end: dt.date) -> tuple[str, int]:
    """Materialize (with gates) and verify the training dates; the transform already ran."""
    from materialize.backfill import backfill

    rep = backfill(start, end, transform=False)
    if rep.status != "ok":
        raise UserError(f"the backfill of {start}..{end} ended with status {rep.status}: {rep.message or ''} "
                        f"(report under {paths.reports_dir()})")
    written = sum(v.get("rows_written", 0) for v in rep.views.values())
    return f"{start}..{end}: {written:,} online rows, gates and verify ok", written


def _materialize_to(day: dt.date) -> str:
    from nbafs.profile import feature_store

    import contextlib
    import io

    store = feature_store()
    at = noon_eastern(day)
    with contextlib.redirect_stdout(io.StringIO()):  # Feast's own banner; the display says the same
        store.materialize_incremental(end_date=at)
    return f"online store up to {at:%Y-%m-%d %H:%M} UTC = noon Eastern"


def _charts(result: DemoResult) -> str:
    from model import artifacts, charts
    from warehouse import engine
    from warehouse.schema import PLAYER_COMPOSITE_FACTORS

    ev = artifacts.eval_predictions()
    slate_rows = None
    if result.outcome is not None and len(result.outcome["table"]):
        slate_rows = result.outcome["table"][result.outcome["table"]["market"] == "points"]
    out = [charts.predicted_vs_actual(ev, slate_rows, title=f"Predicted vs actual points (evaluation dates and the {result.predict_date} slate)")]
    out.append(charts.feature_importance(result.train_metrics["permutation_importance"]))
    if result.markets is not None and result.markets.chart:
        out.append(result.markets.chart)  # reliability of P(over), every market, drawn by the train step
    factors = engine.current().read(
        PLAYER_COMPOSITE_FACTORS, end=result.predict_date,
        columns=["player_lookup", "game_date", "usage_spike_score", "season_usage_rate"]).to_pandas()
    out.append(charts.usage_spike_over_season(factors))
    if result.consistency is not None and result.consistency.chart:
        out.append(result.consistency.chart)  # written by the consistency step
    result.charts = out
    return f"{len(out)} PNGs in {paths.reports_dir()}"


def _describe(out, default: str) -> str:
    if out is None:
        return default
    for attr in ("summary", "describe"):
        if hasattr(out, attr) and callable(getattr(out, attr)):
            return str(getattr(out, attr)())
    if isinstance(out, dict):
        return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in list(out.items())[:6])
    return str(out)[:200]


# --- summary --------------------------------------------------------------------------

def print_summary(result: DemoResult, console=None, top: int = 10) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    steps = Table(title="Steps")
    steps.add_column("step")
    steps.add_column("time", justify="right")
    # fold, not the default ellipsis: the charts' folder is a path to copy, never to cut short
    steps.add_column("what happened", overflow="fold")
    for s in result.steps:
        steps.add_row(s.name, f"{s.seconds:.1f}s", s.detail)
    steps.add_row("[bold]total[/bold]", f"[bold]{sum(s.seconds for s in result.steps):.1f}s[/bold]", "")
    console.print(steps)

    from model.train import print_markets

    print_markets(result.markets, console)

    o = result.outcome
    slate = Table(title=f"The {result.predict_date} slate, every market: what the models said, and what happened")
    for col in ("market", "players", "with a line", "model MAE", "season avg / model", "calls hit"):
        slate.add_column(col, justify="left" if col == "market" else "right")
    for name, mo in o["markets"].items():
        rows = result.slate.market(name)
        slate.add_row(name, f"{mo['played']}", f"{int(rows['line'].notna().sum())}", _f2(mo["model_mae"]),
                      f"{_f2(mo['season_avg_mae'])} / {_f2(mo['model_mae_same_rows'])}",
                      f"{mo['hits']} of {mo['decided']}" if mo["decided"] else "—")
    console.print(slate)
    table = o["table"]
    if len(table):
        lined = table[table["edge"].notna()].sort_values("edge", ascending=False)
        top_rows = lined.groupby("market", sort=False).head(max(1, top // 5))
        t = Table(title=f"Largest edges of the {result.predict_date} slate per market (model P of its call minus the "
                        "books' no-vig P of that side), and what happened")
        for col in ("market", "player", "team", "predicted", "line", "call", "P(call) model", "P market", "edge",
                    "actual", "result"):
            t.add_column(col, justify="left" if col in ("market", "player", "team", "call", "result") else "right")
        for _, r in top_rows.iterrows():
            res = r["result"]
            t.add_row(r["market"], str(r.get("player_name") or r["player_lookup"]), str(r["team_abbr"]),
                      f"{r['predicted']:.1f}", f"{r['line']:.1f}", str(r["call"]), f"{100 * r['p_call']:.0f}%",
                      f"{100 * r['market_p_call']:.0f}%", f"{100 * r['edge']:+.1f}", f"{r['actual']:.0f}",
                      {"hit": "[green]hit[/green]", "miss": "[red]miss[/red]"}.get(res, str(res or "—")))
        console.print(t)
    sk = result.skew
    console.print(
        f"Skew check: {sk.players} players x {len(sk.per_feature)} features, "
        + ("[green]0 mismatches[/green]" if sk.mismatches == 0 else f"[red bold]{sk.mismatches} mismatches[/red bold]")
    )
    c = result.consistency
    console.print(
        f"Consistency: {c.rows:,} served rows of {c.start} x {len(c.features)} features replayed at their request times, "
        + ("[green]0 mismatches[/green]" if c.mismatches == 0 else f"[red bold]{c.mismatches} mismatches[/red bold]")
    )
    console.print("Charts: " + ", ".join(str(p) for p in result.charts))


def _f2(x) -> str:
    return "—" if x is None else f"{x:.2f}"


# --- command line ---------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="import this file or folder (e.g. ../shared/data/nba_2025_26) instead of generating the sample season")
    parser.add_argument("--predict-date", type=argparse_date, default=None,
                        help="the slate to predict (default: the game date three quarters through the season)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample season (default %(default)s)")
    parser.add_argument("--teams", type=int, default=30, help="teams in the sample season (even, 2-30; default %(default)s)")
    parser.add_argument("--games-per-team", type=int, default=82,
                        help="games per team in the sample season (default %(default)s; fewer = a quicker demo)")
    parser.add_argument("--reset", action="store_true",
                        help="allow clearing a data dir the demo did not make (warehouse, registry, online store); "
                             "with NBAFS_PROFILE=prod, allow writing the sample season to a real BigQuery project")
    parser.add_argument("--no-effect", action="store_true",
                        help="skip training every market a second time without the availability features (the "
                             "like-for-like measure of their effect; about halves the train step)")
    parser.add_argument("--json", action="store_true", help="print the final metrics as JSON instead of tables")


def run(args) -> int:
    result = demo(args.data, args.predict_date, args.seed, args.reset,
                  n_teams=args.teams, games_per_team=args.games_per_team,
                  without=() if args.no_effect else ("availability",))
    if args.json:
        out = {
            "predict_date": result.predict_date.isoformat(),
            "steps": {s.name: round(s.seconds, 2) for s in result.steps},
            "train": result.markets.to_json(),
            "slate": {k: v for k, v in result.outcome.items() if k != "table"},
            "skew_mismatches": result.skew.mismatches,
            "consistency_mismatches": result.consistency.mismatches,
            "charts": [str(p) for p in result.charts],
        }
        print(json.dumps(out, indent=2, default=str))
    else:
        print_summary(result)
    return 0 if result.skew.mismatches == 0 and result.consistency.mismatches == 0 else 1
