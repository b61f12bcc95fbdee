"""The main job end to end: what ``make demo`` runs.

    nbafs demo [--data PATH] [--predict-date D] [--seed N] [--teams N --games-per-team N] [--reset]

1. data        generate the sample season (30 teams, 82 games each; ``--seed``), or import
               PATH (``--data ../shared/data/nba_2025_26``, any folder of files in the
               supported formats)
2. transform   the phase transformations over the whole season
3. apply       ``feast apply``: the feature repo into the registry
4. backfill    ``nbafs backfill`` of the dates before the predicted slate (transform,
               materialize through our engine, quality gates, verify)
5. train       the player-points model on the earlier dates (point-in-time training set
               through the feature service, time split, baselines)
6. materialize ``feast materialize-incremental`` up to noon US/Eastern of the slate date
7. predict     every player of that date's games, from the online store
8. skew        online vectors against historical retrieval at the same time (must be 0)
   consistency the vectors served on the slate date (logged by the store) replayed through
               historical retrieval at their request times (``nbafs consistency``; must be 0)
9. outcome     the predictions against what then happened (MAE, over/under hit rate)
10. charts     PNGs under <data dir>/reports/

The slate date defaults to the game date three quarters of the way through the season.

The demo builds its store from scratch in NBAFS_DATA_DIR (default data/): it clears the
warehouse, the registry, the online store and the checkpoints there. It does so only
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
STORE_STATE = ("warehouse", "registry.db", "online_store.db", "checkpoints", "locks")
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
    train_metrics: dict | None = None
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


def outcome(slate, vectors: pd.DataFrame | None = None) -> dict:
    """Predictions of the slate against the box scores of that date (players who played).

    Scored like the evaluation dates (model/evaluate.py): MAE of the model and of each
    baseline on the rows where it exists, over/under against the line known at noon and
    against the closing line.
    """
    from model.evaluate import evaluate
    from model.outcomes import closing_lines, slate_outcomes

    actual = slate_outcomes(slate.day)
    t = slate.table.merge(actual, on=["player_lookup", "game_id"], how="left")
    played = t[(t["minutes"] > 0) & t["points"].notna()].copy().reset_index(drop=True)
    frame = played.rename(columns={"predicted_points": "predicted"})
    if vectors is not None:
        base = vectors[["player_lookup", "points_avg_season", "points_avg_last_5"]]
        frame = frame.merge(base, on="player_lookup", how="left")
    frame["closing_line"] = closing_lines(frame) if len(frame) else []
    metrics = evaluate(frame, frame["predicted"].to_numpy(dtype=float), label="points")
    # The call a bettor would have made: against the line at noon when there was one,
    # else against the closing line (posted after the prediction; marked in the summary).
    from model import artifacts

    residuals = artifacts.load(slate.model).residuals
    frame["bet_line"] = frame["points_line"].fillna(frame["closing_line"])
    frame["bet_line_is_closing"] = frame["points_line"].isna() & frame["closing_line"].notna()
    frame["edge"] = frame["predicted"] - frame["bet_line"]
    p_over = residuals.p_over(frame["predicted"].to_numpy(dtype=float), frame["bet_line"].to_numpy(dtype=float))
    frame["call"] = np.where(frame["bet_line"].isna(), None, np.where(frame["edge"] > 0, "over", "under"))
    frame["p_call"] = np.where(frame["call"] == "over", p_over, 1 - p_over)
    return {
        "slate_players": int(len(t)),
        "played": int(len(played)),
        "did_not_play": int(len(t) - len(played)),
        **metrics,
        "table": frame[["player_lookup", "team_abbr", "predicted", "points", "points_line", "closing_line",
                        "bet_line", "bet_line_is_closing", "edge", "call", "p_call"]].rename(columns={"points": "actual"}),
    }


# --- the run ----------------------------------------------------------------------------

def demo(data: Path | None = None, predict_date: dt.date | None = None, seed: int = 0,
         reset: bool = False, display=None, n_teams: int = 30, games_per_team: int = 82) -> DemoResult:
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
            from model.train import train

            r = train(first, last_train)
            result.train_metrics = r.metrics
            ev = r.metrics["eval"]
            return (f"{r.metrics['train']['rows']:,} rows to {r.metrics['train']['last_date']}, "
                    f"evaluated on {ev['rows']:,} from {ev['first_date']}",
                    r.metrics["train"]["rows"] + ev["rows"])
        step("train", _train)
        step("materialize", lambda: _materialize_to(day))

        def _predict():
            from model.predict import predict

            result.slate = predict(day)
            t = result.slate.table
            return f"{len(t)} players, {int(t['points_line'].notna().sum())} with a line", len(t)
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
            result.outcome = outcome(result.slate, result.slate.vectors)
            o = result.outcome
            return f"{o['played']} of {o['slate_players']} played; slate MAE {o['model_mae']:.2f}", o["played"]
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
    slate_rows = result.outcome["table"] if result.outcome else None
    out = [charts.predicted_vs_actual(ev, slate_rows, title=f"Predicted vs actual points (evaluation dates and the {result.predict_date} slate)")]
    out.append(charts.feature_importance(result.train_metrics["permutation_importance"]))
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
    steps.add_column("what happened")
    for s in result.steps:
        steps.add_row(s.name, f"{s.seconds:.1f}s", s.detail)
    steps.add_row("[bold]total[/bold]", f"[bold]{sum(s.seconds for s in result.steps):.1f}s[/bold]", "")
    console.print(steps)

    m = result.train_metrics
    ev, o = m["eval"], result.outcome
    metrics = Table(title="MAE in points; a baseline's own MAE, then the model's on the same rows")
    metrics.add_column("predictor")
    metrics.add_column(f"eval {ev['first_date']}..{ev['last_date']}", justify="right")
    metrics.add_column(f"slate {result.predict_date}", justify="right")
    metrics.add_row("model", _mae(ev["model_mae"], ev["rows"]), _mae(o["model_mae"], o["rows"]))
    # The sample season posts its lines before noon: then the closing line is the noon line, shown once.
    same_lines = _same_line_figures(ev) and _same_line_figures(o)
    for name, b in ev["baselines"].items():
        if name == "closing_line" and same_lines:
            continue
        sb = o["baselines"].get(name)
        metrics.add_row(BASELINE_LABELS.get(name, name), _mae(b["mae"], b["rows"], b["model_mae_same_rows"]),
                        _mae(sb["mae"], sb["rows"], sb["model_mae_same_rows"]) if sb else "—")
    metrics.add_row("model O/U vs line at noon", _ou(ev["over_under"]), _ou(o["over_under"]))
    if "over_under_closing" in ev and not same_lines:
        metrics.add_row("model O/U vs closing line", _ou(ev["over_under_closing"]), _ou(o.get("over_under_closing")))
    console.print(metrics)

    rows = o["table"].copy()
    lined = rows[rows["bet_line"].notna() & (rows["edge"] != 0)].copy()
    lined = lined.reindex(lined["edge"].abs().sort_values(ascending=False).index).head(top)
    if len(lined):
        t = Table(title=f"Top {len(lined)} calls of the {result.predict_date} slate by edge, and what happened")
        for col in ("player", "team", "predicted", "line", "call", "P(call)", "actual", "result"):
            t.add_column(col, justify="left" if col in ("player", "team", "call", "result") else "right")
        for _, r in lined.iterrows():
            hit = None if r["actual"] == r["bet_line"] else (r["actual"] > r["bet_line"]) == (r["call"] == "over")
            t.add_row(r["player_lookup"], str(r["team_abbr"]), f"{r['predicted']:.1f}",
                      f"{r['bet_line']:.1f}" + ("*" if r["bet_line_is_closing"] else ""),
                      str(r["call"]), f"{100 * r['p_call']:.0f}%", f"{r['actual']:.0f}",
                      "push" if hit is None else ("[green]hit[/green]" if hit else "[red]miss[/red]"))
        console.print(t)
        if lined["bet_line_is_closing"].any():
            console.print("* no line was known at noon: the closing line, posted after the prediction was made.")
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


BASELINE_LABELS = {"season_avg": "season average", "last_5": "last-5 average", "line": "line at noon",
                   "closing_line": "closing line"}


def _same_line_figures(metrics: dict) -> bool:
    b = metrics["baselines"]
    return "closing_line" not in b or (b["closing_line"]["rows"] == b["line"]["rows"]
                                       and b["closing_line"]["mae"] == b["line"]["mae"])


def _mae(x, n, model_same=None) -> str:
    if x is None:
        return "—"
    s = f"{x:.2f}"
    return s + (f" / {model_same:.2f}" if model_same is not None else "") + f" (n={n:,})"


def _ou(ou: dict | None) -> str:
    if not ou or ou["accuracy"] is None:
        return "—"
    return f"{100 * ou['accuracy']:.1f}% of {ou['calls']:,}"


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
    parser.add_argument("--json", action="store_true", help="print the final metrics as JSON instead of tables")


def run(args) -> int:
    result = demo(args.data, args.predict_date, args.seed, args.reset,
                  n_teams=args.teams, games_per_team=args.games_per_team)
    if args.json:
        out = {
            "predict_date": result.predict_date.isoformat(),
            "steps": {s.name: round(s.seconds, 2) for s in result.steps},
            "train": result.train_metrics,
            "slate": {k: v for k, v in result.outcome.items() if k != "table"},
            "skew_mismatches": result.skew.mismatches,
            "consistency_mismatches": result.consistency.mismatches,
            "charts": [str(p) for p in result.charts],
        }
        print(json.dumps(out, indent=2, default=str))
    else:
        print_summary(result)
    return 0 if result.skew.mismatches == 0 and result.consistency.mismatches == 0 else 1
