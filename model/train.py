"""Train the player-points model on a point-in-time training set.

    nbafs train --start 2025-10-21 --end 2026-01-30 [--eval-start 2026-01-10] [--name NAME] [--json]

1. Entity rows: every player-game played in START..END (minutes > 0), each asked at
   noon US/Eastern on its game date (``serving.training_set.entity_rows_for_range``).
2. Training set: the feature service ``player_points_v1`` through Feast's
   ``get_historical_features`` (``serving.training_set.build_training_set``), label
   ``points``; features in the service's declared order. Rows whose points the source
   lost (NULL label) are dropped and counted, never filled.
3. Time split: fit on game dates before EVAL_START, evaluate on dates from EVAL_START
   on (default: the game date 80% of the way through the range). Never shuffled across
   time; nothing is tuned on the evaluation dates: the hyper-parameters are fixed below,
   except the target (points, or points minus the season average) and the number of
   boosting rounds, chosen by an inner time split of the training dates alone
   (``select_model``).
4. Model: a scikit-learn pipeline (features as floats, NULL kept as NaN ->
   HistGradientBoostingRegressor, which routes missing values itself, absolute-error
   loss since MAE is the yardstick and the median is what an over/under call needs),
   optionally fit to the deviation from the season average (model/estimator.py).
5. Metrics against honest baselines (season average, last-5 average, the betting line;
   see model/evaluate.py) and the out-of-sample residual model behind P(over).
6. Saved under data/models/NAME/: model.joblib, features.json, fingerprint.json,
   metrics.json, residuals.json, eval_predictions.parquet (see model/artifacts.py).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from model import artifacts
from feature_repo.catalog import PLAYER_POINTS_V1
from model.dataset import FEATURES, LABEL, as_date, feature_matrix, game_dates
from model.estimator import OffsetRegressor
from model.evaluate import CLOSING_LINE, default_eval_start, evaluate, mae, time_split
from model.fingerprint import fingerprint
from model.residuals import ResidualModel
from nbafs.errors import UserError
from nbafs.timeline import argparse_date

# Fixed, chosen before looking at any evaluation date; never tuned on them. Only the
# target (points, or points minus the season average) and the number of boosting rounds
# are chosen per training set, on the training dates alone (see select_model).
ITERATION_GRID = (50, 100, 150, 200, 300, 400, 600)
# Only the deviation from the season average. Plain boosting on points was a candidate
# too, but with a learning rate of 0.05 its few-round fits stay far from the level of a
# rare star: on the real season trained to 2025-11-24 the inner split picked it by 0.01
# points and it then predicted ~24 for players averaging 30+. The deviation target
# starts every player at his own level, so a small model errs small.
TARGETS = ("points_avg_season",)
HYPERPARAMETERS = dict(
    loss="absolute_error",
    learning_rate=0.05,
    max_iter=max(ITERATION_GRID),
    max_leaf_nodes=15,
    min_samples_leaf=40,
    l2_regularization=1.0,
    early_stopping=False,
    random_state=0,
)


def make_pipeline(features=FEATURES, target: str | None = None, max_iter: int | None = None) -> Pipeline:
    """Features (selected by name, in order, NULL as NaN) -> gradient boosting, on points
    (``target=None``) or on points minus the feature ``target`` (model/estimator.py)."""
    params = dict(HYPERPARAMETERS, **({"max_iter": max_iter} if max_iter else {}))
    return Pipeline([
        ("features", FunctionTransformer(feature_matrix, kw_args={"features": tuple(features)})),
        ("regressor", OffsetRegressor(offset_feature=target, boosting_params=params)),
    ])


@dataclass
class TrainResult:
    name: str
    directory: object
    metrics: dict
    pipeline: Pipeline
    training_set: pd.DataFrame
    eval_predictions: pd.DataFrame


def fit_and_evaluate(training_set: pd.DataFrame, eval_start: dt.date | None = None,
                     features=FEATURES) -> tuple[Pipeline, dict, ResidualModel, pd.DataFrame]:
    """Split by time, fit on the earlier dates, score the later ones.

    Returns the fitted pipeline, the metrics, the residual model (from the evaluation
    residuals) and the evaluation rows with their predictions.
    """
    labelled = training_set[training_set[LABEL].notna()].reset_index(drop=True)
    dates = game_dates(labelled)
    if eval_start is None:
        eval_start = default_eval_start(dates)
    split = time_split(dates, eval_start)
    if split.n_train == 0 or split.n_eval == 0:
        raise UserError(
            f"time split at {eval_start} leaves {split.n_train} training and {split.n_eval} evaluation rows "
            f"(game dates {min(dates)}..{max(dates)}); choose --eval-start inside the range"
        )
    train_rows, eval_rows = labelled[split.train_mask], labelled[split.eval_mask]
    _refuse_empty_features(train_rows, features)
    selection = select_model(train_rows, features)
    pipeline = make_pipeline(features, selection["target"], selection["max_iter"])
    pipeline.fit(train_rows, train_rows[LABEL].to_numpy(dtype=float))
    pred_eval = pipeline.predict(eval_rows)
    pred_train = pipeline.predict(train_rows)
    residuals = ResidualModel.fit(pred_eval, eval_rows[LABEL].to_numpy(dtype=float))
    importance = permutation_importance_mae(pipeline, eval_rows, features)
    train_dates, eval_dates = dates[split.train_mask], dates[split.eval_mask]
    metrics = {
        "features": list(features),
        "hyperparameters": {**HYPERPARAMETERS, "max_iter": selection["max_iter"], "target": selection["target"]},
        "model_selection": selection,
        "eval_start": eval_start.isoformat(),
        "train": {
            "rows": split.n_train,
            "first_date": min(train_dates).isoformat(),
            "last_date": max(train_dates).isoformat(),
            "mae_in_sample": mae(train_rows[LABEL], pred_train),
        },
        "eval": {
            "first_date": min(eval_dates).isoformat(),
            "last_date": max(eval_dates).isoformat(),
            **evaluate(eval_rows, pred_eval, LABEL),
        },
        "rows_without_label": int(len(training_set) - len(labelled)),
        "permutation_importance": importance,
    }
    keep = [c for c in ("player_lookup", "game_id", "event_timestamp", "team_abbr", "opponent_team_abbr") if c in eval_rows]
    out = eval_rows[keep].copy()
    out["game_date"] = list(eval_dates)
    out["actual"] = eval_rows[LABEL].to_numpy(dtype=float)
    out["predicted"] = pred_eval
    for col in ("points_avg_season", "points_avg_last_5", "points_line", CLOSING_LINE):
        out[col] = eval_rows[col].to_numpy(dtype=float) if col in eval_rows else np.nan
    out["p_over"] = residuals.p_over(pred_eval, out["points_line"].to_numpy())
    return pipeline, metrics, residuals, out.reset_index(drop=True)


def select_model(train_rows: pd.DataFrame, features=FEATURES) -> dict:
    """The target and the number of boosting rounds, chosen on the training dates alone.

    An inner time split of the training rows (fit on their first 80% of dates, score
    the last 20%) grows one model per target of ``TARGETS`` to the largest size of
    ``ITERATION_GRID`` and reads its MAE after each grid size (``staged_predict``); the
    (target, size) with the lowest inner MAE is then refit on all training dates. The
    evaluation dates are never looked at. With fewer than two training dates there is
    nothing to split: plain points and the largest size.
    """
    dates = game_dates(train_rows)
    if len(set(dates)) < 2:
        return {"method": "none: fewer than two training dates", "target": None, "max_iter": max(ITERATION_GRID)}
    inner_start = default_eval_start(dates)
    inner = time_split(dates, inner_start)
    fit_rows, val_rows = train_rows[inner.train_mask], train_rows[inner.eval_mask]
    X, y = feature_matrix(val_rows, tuple(features)), val_rows[LABEL].to_numpy(dtype=float)
    scores: dict[tuple, float] = {}
    for target in TARGETS:
        probe = make_pipeline(features, target)
        probe.fit(fit_rows, fit_rows[LABEL].to_numpy(dtype=float))
        for i, pred in enumerate(probe.named_steps["regressor"].staged_predict(X), start=1):
            if i in ITERATION_GRID:
                scores[(target, i)] = mae(y, pred)
    target, size = min(scores, key=lambda k: (scores[k], k[1]))
    return {
        "method": "inner time split of the training dates (first 80% fit, last 20% scored)",
        "inner_eval_start": inner_start.isoformat(),
        "inner_rows": {"fit": inner.n_train, "scored": inner.n_eval},
        "inner_mae": {f"{t or 'points'} @ {i}": round(v, 4) for (t, i), v in scores.items()},
        "target": target,
        "max_iter": int(size),
    }


def permutation_importance_mae(pipeline: Pipeline, rows: pd.DataFrame, features, repeats: int = 3) -> dict:
    """How much the evaluation MAE grows when one feature's values are shuffled across
    rows (mean over ``repeats`` shuffles, fixed seed), per feature in service order."""
    from sklearn.inspection import permutation_importance

    X = feature_matrix(rows, tuple(features))
    regressor = pipeline.named_steps["regressor"]
    result = permutation_importance(
        regressor, X, rows[LABEL].to_numpy(dtype=float), scoring="neg_mean_absolute_error",
        n_repeats=repeats, random_state=0, n_jobs=1,
    )
    return {f: {"mae_increase": float(m), "std": float(s)}
            for f, m, s in zip(features, result.importances_mean, result.importances_std)}


def _refuse_empty_features(rows: pd.DataFrame, features) -> None:
    """A feature NULL in every training row is a broken pipeline upstream, not a signal.

    (``usage_spike_score`` once was a silent constant for months.) Refuse to train and
    say which feature, rather than fit a model that quietly ignores it.
    """
    matrix = feature_matrix(rows, tuple(features))
    empty = [f for f in features if matrix[f].isna().all()]
    if empty:
        raise UserError(
            f"feature(s) {', '.join(empty)} are NULL in all {len(rows):,} training rows; the feature store "
            "is not serving them. Check `nbafs verify` for the range and the backfill report before training"
        )


def load_training_set(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Every played player-game in START..END with its point-in-time features and label."""
    from serving.training_set import build_training_set, entity_rows_for_range

    rows = entity_rows_for_range(start, end)
    if len(rows) == 0:
        raise UserError(
            f"no played player-games between {start} and {end} in nba_analytics.player_game_summary; "
            "generate or import a season and run `nbafs backfill` (or `nbafs transform`) first"
        )
    return build_training_set(rows)


def train(start, end, eval_start=None, name: str = artifacts.DEFAULT_MODEL,
          training_set: pd.DataFrame | None = None) -> TrainResult:
    """Build the training set for START..END, fit, evaluate, save under data/models/NAME."""
    start, end = as_date(start), as_date(end)
    eval_start = as_date(eval_start) if eval_start is not None else None
    if end < start:
        raise UserError(f"--end {end} is before --start {start}")
    if eval_start is not None and not (start < eval_start <= end):
        raise UserError(f"--eval-start {eval_start} must lie after --start {start} and no later than --end {end}")
    timings = {}
    t0 = time.perf_counter()
    if training_set is None:
        training_set = load_training_set(start, end)
    if CLOSING_LINE not in training_set:
        from model.outcomes import closing_lines

        training_set = training_set.assign(**{CLOSING_LINE: closing_lines(training_set)})
    timings["training_set_s"] = round(time.perf_counter() - t0, 3)
    missing = [f for f in PLAYER_POINTS_V1 if f not in training_set.columns]
    if missing or LABEL not in training_set.columns:
        raise UserError(f"the training set lacks {missing + ([LABEL] if LABEL not in training_set else [])}; "
                        f"it has {list(training_set.columns)}")
    t1 = time.perf_counter()
    pipeline, metrics, residuals, eval_rows = fit_and_evaluate(training_set, eval_start)
    timings["fit_evaluate_s"] = round(time.perf_counter() - t1, 3)
    # The fingerprint covers the whole training set as the feature service returned it,
    # line features included, so it identifies the data, not the model's choice of inputs.
    fp = {
        "sha256": fingerprint(training_set, [LABEL, *PLAYER_POINTS_V1]),
        "rows": int(len(training_set)),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "columns": [LABEL, *PLAYER_POINTS_V1],
    }
    metrics = {"model": name, "range": {"start": start.isoformat(), "end": end.isoformat()},
               "fingerprint": fp["sha256"], **metrics, "timings": timings}
    directory = artifacts.save(name, pipeline, FEATURES, fp, metrics, residuals, eval_rows)
    return TrainResult(name, directory, metrics, pipeline, training_set, eval_rows)


# --- command line --------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", required=True, type=argparse_date, help="first game date of the training range (YYYY-MM-DD)")
    parser.add_argument("--end", required=True, type=argparse_date, help="last game date of the training range (YYYY-MM-DD)")
    parser.add_argument("--eval-start", type=argparse_date, default=None,
                        help="first evaluation date; the model is fit on earlier dates only (default: 80%% through the range)")
    parser.add_argument("--name", default=artifacts.DEFAULT_MODEL, help="model name, the folder under data/models/ (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")


def run(args) -> int:
    result = train(args.start, args.end, args.eval_start, name=args.name)
    if args.json:
        print(json.dumps(result.metrics, indent=2, default=str))
    else:
        print_metrics(result.metrics, result.directory)
    return 0


def print_metrics(metrics: dict, directory=None, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    tr, ev = metrics["train"], metrics["eval"]
    console.print(
        f"[bold]{metrics['model']}[/bold]: trained on {tr['rows']:,} player-games {tr['first_date']}..{tr['last_date']}, "
        f"evaluated on {ev['rows']:,} from {ev['first_date']}..{ev['last_date']}"
    )
    table = Table(title="Evaluation on the later dates (MAE in points)")
    closing = "over_under_closing" in ev
    cols = ["predictor", "rows", "MAE", "model there", "O/U vs line"]
    if closing:
        cols.append("O/U vs closing")
    for col in cols:
        table.add_column(col, justify="right" if col != "predictor" else "left")

    def ou_cells(entry):
        cells = [_ou(entry.get("over_under"))]
        return cells + ([_ou(entry.get("over_under_closing"))] if closing else [])

    table.add_row("model", f"{ev['rows']:,}", _f(ev["model_mae"]), "", *ou_cells(ev))
    for name, b in ev["baselines"].items():
        table.add_row(BASELINE_LABELS.get(name, name), f"{b['rows']:,}", _f(b["mae"]),
                      _f(b["model_mae_same_rows"]), *ou_cells(b))
    console.print(table)
    ou = ev["over_under"]
    if ou["rows_with_line"] or closing:
        refs = [f"{ou['rows_with_line']:,} rows had a line when asked"]
        if closing:
            refs.append(f"{ev['over_under_closing']['rows_with_line']:,} a closing line "
                        f"('always under' right {_pct(ev['over_under_closing']['under_share'])})")
        console.print("; ".join(refs) + ". Pushes excluded.")
    else:
        console.print("No evaluation row has a betting line: no over/under figures.")
    console.print("Each baseline is scored on the rows where it exists (the averages need an earlier game, a line "
                  "a quote); 'model there' is the model's MAE on exactly those rows. O/U: share of correct over/under "
                  "calls (calls in brackets) against the line known when asked, and against the closing line.")
    console.print(f"Fingerprint {metrics['fingerprint'][:16]}…" + (f"  saved in {directory}" if directory else ""))


BASELINE_LABELS = {"season_avg": "season avg", "last_5": "last-5 avg", "line": "line (asked)",
                   "closing_line": "closing line"}


def _ou(entry) -> str:
    if not entry or entry["accuracy"] is None:
        return "—"
    return f"{_pct(entry['accuracy'])} ({entry['calls']:,})"


def _f(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"
