"""Train a model per market on point-in-time training sets, and judge it as a bettor would.

    nbafs train --start 2025-10-21 --end 2026-01-30 [--eval-start 2026-01-10] [--market M]
                [--without availability] [--json]

1. Entity rows: every player-game played in START..END (minutes > 0), each asked at
   noon US/Eastern on its game date (``serving.training_set.entity_rows_for_range``).
2. Training sets: each market's feature service (``player_<market>_v1``) through Feast's
   ``get_historical_features``, one retrieval for all the markets asked
   (``serving.training_set.build_training_sets``); label = the market's stat. Rows whose
   stat the source lost (NULL label) are dropped and counted, never filled.
3. Time split, the same for every market: fit on game dates before EVAL_START, evaluate
   on dates from EVAL_START on (default: the game date 80% of the way through the
   range). Never shuffled across time; nothing is tuned on the evaluation dates: the
   hyper-parameters are fixed below, except the number of boosting rounds, chosen by an
   inner time split of the training dates alone (``select_model``).
4. Model: a scikit-learn pipeline (the market's features as floats, NULL kept as NaN ->
   HistGradientBoostingRegressor, absolute-error loss since MAE is the yardstick and the
   median is what an over/under call needs), fit to the deviation from the player's
   season average of the stat (``<stat>_avg_season``, model/estimator.py).
5. P(over): the residual model (model/residuals.py) is fit on the inner split's
   validation rows, predicted by the chosen-size model fit on the inner fit rows: out of
   sample, and never the evaluation rows it is judged on.
6. Evaluation per market: MAE beside the season and last-5/10 averages and the line
   (model/evaluate.py); the bettor's evaluation at the bet snapshot (``model.outcomes.
   bet_offers``, ``model.betting.evaluate_bets``): hit rate beside break-even, ROI with
   bootstrap intervals at the consensus and the best price, Brier score beside the
   market's, a verdict; ``reliability.png`` under data/reports/.
7. Saved under data/models/<service>/ (``player_points_v1``, ``player_rebounds_v1``...):
   see model/artifacts.py. ``--without availability`` also trains every market without
   ``catalog.AVAILABILITY`` on the same split (saved as ``<service>_without_availability``)
   and reports the effect (Python: ``availability_effect``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from feature_repo import catalog
from model import artifacts
from model.dataset import FEATURES, GROUPS, as_date, feature_matrix, features_for, game_dates, label_for
from model.estimator import OffsetRegressor
from model.evaluate import CLOSING_LINE, baselines, default_eval_start, evaluate, mae, time_split
from model.fingerprint import fingerprint
from model.residuals import ResidualModel
from nbafs.errors import UserError
from nbafs.timeline import argparse_date
from warehouse.markets import MARKETS, POINTS, Market
from warehouse.markets import market as market_named

# Fixed, chosen before looking at any evaluation date; never tuned on them. Only the
# number of boosting rounds is chosen per training set, on the training dates alone
# (see select_model).
ITERATION_GRID = (50, 100, 150, 200, 300, 400, 600)
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


def targets(market: Market = POINTS) -> tuple[str, ...]:
    """The offsets a market's model may be fit around: only the season average of its stat.

    Plain boosting on the stat was a candidate too, but with a learning rate of 0.05 its
    few-round fits stay far from the level of a rare star: on the real season trained to
    2025-11-24 the inner split picked it by 0.01 points and it then predicted ~24 for
    players averaging 30+. The deviation target starts every player at his own level.
    """
    return (f"{market.stat}_avg_season",)


TARGETS = targets(POINTS)


def make_pipeline(features=FEATURES, target: str | None = None, max_iter: int | None = None) -> Pipeline:
    """Features (selected by name, in order, NULL as NaN) -> gradient boosting, on the label
    (``target=None``) or on the label minus the feature ``target`` (model/estimator.py)."""
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
    market: Market = POINTS
    residuals: ResidualModel | None = None


# --- fit and evaluate (pure: no I/O) ---------------------------------------------------------

def fit_and_evaluate(training_set: pd.DataFrame, eval_start: dt.date | None = None, features=None,
                     market: Market = POINTS, sizes: tuple[int, ...] = ITERATION_GRID,
                     ) -> tuple[Pipeline, dict, ResidualModel, pd.DataFrame]:
    """Split by time, fit on the earlier dates, score the later ones.

    Returns the fitted pipeline, the metrics, the residual model (fit on out-of-sample
    residuals of the training dates, see ``select_model``) and the evaluation rows with
    their predictions and P(over) at the line known when asked (``p_over_asked``).
    """
    label = label_for(market)
    features = tuple(features) if features is not None else features_for(market)
    labelled = training_set[training_set[label].notna()].reset_index(drop=True)
    if len(labelled) == 0:
        raise UserError(f"no {market.name} training row has a label ({label} is NULL in all {len(training_set):,} "
                        "rows of nba_analytics.player_game_summary joined); check the import of the box scores")
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
    features = _learnable(train_rows, features)
    selection, oos = _select(train_rows, features, market, sizes)
    if oos is None:
        raise UserError(
            f"P(over) needs out-of-sample residuals from the training dates, and the {split.n_train:,} training rows "
            f"before {eval_start} span a single game date; start the range earlier or move --eval-start later"
        )
    residuals = ResidualModel.fit(oos["predicted"], oos["actual"])
    pipeline = make_pipeline(features, selection["target"], selection["max_iter"])
    pipeline.fit(train_rows, train_rows[label].to_numpy(dtype=float))
    pred_eval = pipeline.predict(eval_rows)
    pred_train = pipeline.predict(train_rows)
    importance = permutation_importance_mae(pipeline, eval_rows, features, label)
    train_dates, eval_dates = dates[split.train_mask], dates[split.eval_mask]
    metrics = {
        "market": market.name,
        "label": label,
        "features": list(features),
        "hyperparameters": {**HYPERPARAMETERS, "max_iter": selection["max_iter"], "target": selection["target"]},
        "model_selection": selection,
        "eval_start": eval_start.isoformat(),
        "train": {
            "rows": split.n_train,
            "first_date": min(train_dates).isoformat(),
            "last_date": max(train_dates).isoformat(),
            "mae_in_sample": mae(train_rows[label], pred_train),
        },
        "eval": {
            "first_date": min(eval_dates).isoformat(),
            "last_date": max(eval_dates).isoformat(),
            **evaluate(eval_rows, pred_eval, label, market),
        },
        "residuals": {
            "fit_on": "the inner split's validation rows (training dates only), predicted by the chosen-size model "
                      "fit on the inner fit rows",
            "rows": int(len(oos)),
            "first_date": selection["inner_eval_start"],
            "mae": mae(oos["actual"], oos["predicted"]),
        },
        "rows_without_label": int(len(training_set) - len(labelled)),
        "permutation_importance": importance,
    }
    keep = [c for c in ("player_lookup", "game_id", "event_timestamp", "team_abbr", "opponent_team_abbr") if c in eval_rows]
    out = eval_rows[keep].copy()
    out["game_date"] = list(eval_dates)
    out["market"] = market.name
    out["actual"] = eval_rows[label].to_numpy(dtype=float)
    out["predicted"] = pred_eval
    # The availability proxies ride along (learned from or not) so that an effect can be read where they matter.
    for col in (*baselines(market).values(), market.over_prob_feature, *catalog.AVAILABILITY):
        out[col] = eval_rows[col].to_numpy(dtype=float) if col in eval_rows else np.nan
    if CLOSING_LINE in eval_rows:
        out[CLOSING_LINE] = eval_rows[CLOSING_LINE].to_numpy(dtype=float)
    out["p_over_asked"] = residuals.p_over(pred_eval, out[market.line_feature].to_numpy())
    return pipeline, metrics, residuals, out.reset_index(drop=True)


def select_model(train_rows: pd.DataFrame, features=FEATURES, market: Market = POINTS) -> dict:
    """The target and the number of boosting rounds, chosen on the training dates alone.

    An inner time split of the training rows (fit on their first 80% of dates, score
    the last 20%) grows one model per target of ``targets(market)`` to the largest size
    of ``ITERATION_GRID`` and reads its MAE after each grid size (``staged_predict``);
    the (target, size) with the lowest inner MAE is then refit on all training dates.
    The evaluation dates are never looked at. With fewer than two training dates there
    is nothing to split: the season-average target and the largest size.
    """
    return _select(train_rows, features, market)[0]


def _select(train_rows: pd.DataFrame, features, market: Market,
            sizes: tuple[int, ...] = ITERATION_GRID) -> tuple[dict, pd.DataFrame | None]:
    """``select_model``'s choice among ``sizes``, and the inner validation rows' ``predicted`` and ``actual``.

    The predictions are the staged ones at the chosen size: with early stopping off and no
    subsampling, the first k rounds of the grown model are the model of size k fit on the
    same rows (a test holds the two equal), so they are out of sample for those rows.
    """
    label = label_for(market)
    candidates = targets(market)
    dates = game_dates(train_rows)
    if len(set(dates)) < 2:
        return {"method": "none: fewer than two training dates", "target": candidates[0],
                "max_iter": max(sizes)}, None
    inner_start = default_eval_start(dates)
    inner = time_split(dates, inner_start)
    fit_rows, val_rows = train_rows[inner.train_mask], train_rows[inner.eval_mask]
    X, y = feature_matrix(val_rows, tuple(features)), val_rows[label].to_numpy(dtype=float)
    scores: dict[tuple, float] = {}
    staged: dict[tuple, np.ndarray] = {}
    for target in candidates:
        probe = make_pipeline(features, target, max(sizes))
        probe.fit(fit_rows, fit_rows[label].to_numpy(dtype=float))
        for i, pred in enumerate(probe.named_steps["regressor"].staged_predict(X), start=1):
            if i in sizes:
                scores[(target, i)] = mae(y, pred)
                staged[(target, i)] = pred
    target, size = min(scores, key=lambda k: (scores[k], k[1]))
    selection = {
        "method": "inner time split of the training dates (first 80% fit, last 20% scored)",
        "inner_eval_start": inner_start.isoformat(),
        "inner_rows": {"fit": inner.n_train, "scored": inner.n_eval},
        "inner_mae": {f"{t or label} @ {i}": round(v, 4) for (t, i), v in scores.items()},
        "target": target,
        "max_iter": int(size),
    }
    oos = pd.DataFrame({"predicted": staged[(target, size)], "actual": y}, index=val_rows.index)
    return selection, oos


def permutation_importance_mae(pipeline: Pipeline, rows: pd.DataFrame, features, label: str = "points",
                               repeats: int = 3) -> dict:
    """How much the evaluation MAE grows when one feature's values are shuffled across
    rows (mean over ``repeats`` shuffles, fixed seed), per feature in service order."""
    from sklearn.inspection import permutation_importance

    X = feature_matrix(rows, tuple(features))
    regressor = pipeline.named_steps["regressor"]
    result = permutation_importance(
        regressor, X, rows[label].to_numpy(dtype=float), scoring="neg_mean_absolute_error",
        n_repeats=repeats, random_state=0, n_jobs=1,
    )
    return {f: {"mae_increase": float(m), "std": float(s)}
            for f, m, s in zip(features, result.importances_mean, result.importances_std)}


def _learnable(rows: pd.DataFrame, features) -> tuple[str, ...]:
    """The features to learn from: all of them, unless one is NULL in every training row.

    Such a feature is a broken pipeline upstream, not a signal (``usage_spike_score`` once
    was a silent constant for months): refuse to train and say which, rather than fit a
    model that quietly ignores it. Unless the catalog declares it honestly NULL everywhere
    at times (``Feature.all_null_when``: the previous season's figures in a warehouse's
    first season): then it is left out of this model (trees cannot bin a column with no
    value; the saved model lists the features it learned from), and the quality gates
    judge it wherever it has values.
    """
    matrix = feature_matrix(rows, tuple(features))
    empty = [f for f in features if matrix[f].isna().all()]
    broken = [f for f in empty if not catalog.feature(f).all_null_when]
    if broken:
        raise UserError(
            f"feature(s) {', '.join(broken)} are NULL in all {len(rows):,} training rows; the feature store "
            "is not serving them. Check `nbafs verify` for the range and the backfill report before training"
        )
    return tuple(f for f in features if f not in empty)


# --- the bettor's evaluation -------------------------------------------------------------------

def bet_evaluation(eval_rows: pd.DataFrame, market: Market, residuals: ResidualModel) -> tuple[dict, pd.DataFrame]:
    """``model.betting.evaluate_bets`` on the evaluation rows at the bet snapshot.

    Returns its result and the rows with the offer's columns (``model.outcomes.
    bet_offers``) and ``p_over``: the model's P(over) at the bet line.
    """
    from model.betting import evaluate_bets
    from model.outcomes import bet_offers

    offers = bet_offers(eval_rows, market)
    if not offers.index.equals(eval_rows.index):
        raise ValueError("model.outcomes.bet_offers returned rows under another index than the evaluation rows'; "
                         "offers are attached by index, never by position")
    rows = pd.concat([eval_rows, offers[[c for c in offers.columns if c not in eval_rows]]], axis=1)
    rows["p_over"] = residuals.p_over(rows["predicted"].to_numpy(dtype=float), rows["bet_line"].to_numpy(dtype=float))
    return evaluate_bets(rows, market.label), rows


def reliability_frames(results: dict[str, TrainResult]) -> dict[str, pd.DataFrame]:
    """{market label: its evaluation rows} for ``model.charts.reliability_chart``."""
    return {r.market.label: r.eval_predictions for r in results.values() if "bet_line" in r.eval_predictions}


# --- one market ---------------------------------------------------------------------------------

def load_training_set(start: dt.date, end: dt.date, market: Market = POINTS) -> pd.DataFrame:
    """Every played player-game in START..END with its point-in-time features and label."""
    return load_training_sets(start, end, [market])[market.service]


def load_training_sets(start: dt.date, end: dt.date, markets: Iterable[Market] = MARKETS) -> dict[str, pd.DataFrame]:
    """The markets' training sets for START..END from one retrieval, by service name (points'
    with the closing line, an outcome for evaluation only)."""
    from serving.training_set import build_training_sets

    rows = _entity_rows(start, end)
    markets = list(markets)
    sets = build_training_sets(rows, [m.service for m in markets])
    if POINTS in markets:
        from model.outcomes import closing_lines

        points = sets[POINTS.service]
        sets[POINTS.service] = points.assign(**{CLOSING_LINE: closing_lines(points)})
    return sets


def _entity_rows(start: dt.date, end: dt.date) -> pd.DataFrame:
    from serving.training_set import entity_rows_for_range

    rows = entity_rows_for_range(start, end)
    if len(rows) == 0:
        raise UserError(
            f"no played player-games between {start} and {end} in nba_analytics.player_game_summary; "
            "generate or import a season and run `nbafs backfill` (or `nbafs transform`) first"
        )
    return rows


def train(start, end, eval_start=None, name: str | None = None, training_set: pd.DataFrame | None = None,
          market: Market | str = POINTS, drop: Iterable[str] = (), bets: bool = True,
          sizes: tuple[int, ...] = ITERATION_GRID) -> TrainResult:
    """Build a market's training set for START..END (unless given), fit, evaluate, save.

    ``name``: the folder under data/models/ (default the service name, plus
    ``_without_<group>`` when ``drop`` leaves out a group of ``model.dataset.GROUPS``).
    ``bets``: run the bettor's evaluation (reads the bet offers from the warehouse).
    ``sizes``: the boosting-round counts the inner split chooses among (one size = fixed).
    """
    market = market_named(market)
    drop = tuple(drop)
    start, end = as_date(start), as_date(end)
    eval_start = as_date(eval_start) if eval_start is not None else None
    _check_range(start, end, eval_start)
    name = name or artifacts.model_name(market, drop)
    label = label_for(market)
    order = catalog.SERVICES[market.service]
    timings = {}
    t0 = time.perf_counter()
    if training_set is None:
        training_set = load_training_set(start, end, market)
    elif market is POINTS and CLOSING_LINE not in training_set:
        from model.outcomes import closing_lines

        training_set = training_set.assign(**{CLOSING_LINE: closing_lines(training_set)})
    timings["training_set_s"] = round(time.perf_counter() - t0, 3)
    missing = [f for f in order if f not in training_set.columns] + ([label] if label not in training_set else [])
    if missing:
        raise UserError(f"the {market.name} training set lacks {missing}; it has {list(training_set.columns)}. "
                        f"Build it with serving.training_set.build_training_set(rows, service={market.service!r})")
    t1 = time.perf_counter()
    features = features_for(market, drop)
    pipeline, metrics, residuals, eval_rows = fit_and_evaluate(training_set, eval_start, features, market, sizes)
    timings["fit_evaluate_s"] = round(time.perf_counter() - t1, 3)
    if bets:
        t2 = time.perf_counter()
        metrics["betting"], eval_rows = bet_evaluation(eval_rows, market, residuals)
        timings["betting_s"] = round(time.perf_counter() - t2, 3)
    # The fingerprint covers the whole training set as the feature service returned it,
    # line features included, so it identifies the data, not the model's choice of inputs.
    fp = {
        "sha256": fingerprint(training_set, [label, *order]),
        "rows": int(len(training_set)),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "columns": [label, *order],
    }
    metrics = {"model": name, "service": market.service, "without": list(drop),
               "range": {"start": start.isoformat(), "end": end.isoformat()},
               "fingerprint": fp["sha256"], **metrics, "timings": timings}
    directory = artifacts.save(name, pipeline, features, fp, metrics, residuals, eval_rows)
    return TrainResult(name, directory, metrics, pipeline, training_set, eval_rows, market, residuals)


def _check_range(start: dt.date, end: dt.date, eval_start: dt.date | None) -> None:
    if end < start:
        raise UserError(f"--end {end} is before --start {start}")
    if eval_start is not None and not (start < eval_start <= end):
        raise UserError(f"--eval-start {eval_start} must lie after --start {start} and no later than --end {end}")


# --- every market --------------------------------------------------------------------------------

@dataclass
class MarketsRun:
    """Every market's training: the models, the reduced ones (``--without``) and their effect."""

    eval_start: dt.date
    results: dict[str, TrainResult] = field(default_factory=dict)  # by market name
    reduced: dict[str, TrainResult] = field(default_factory=dict)  # by market name, when ``without``
    without: tuple[str, ...] = ()
    effect: dict[str, dict] = field(default_factory=dict)  # by market name, when ``without``
    chart: object = None  # reliability.png

    def to_json(self) -> dict:
        return {
            "eval_start": self.eval_start.isoformat(),
            "markets": {m: r.metrics for m, r in self.results.items()},
            **({"without": list(self.without), "effect": self.effect} if self.without else {}),
            "reliability_chart": None if self.chart is None else str(self.chart),
            "table": market_rows(self),
        }


def train_markets(start, end, eval_start=None, markets: Iterable[Market | str] | None = None,
                  without: Iterable[str] = (), progress: Callable[[str], None] | None = None,
                  chart: bool = True) -> MarketsRun:
    """Train every market (default all five) one after the other on the same split.

    One retrieval for all the markets' training sets; the evaluation start is resolved
    once from the range's game dates, so every market (and every reduced model of
    ``without``) is judged on the same dates. A reduced model keeps its full model's number
    of boosting rounds: the comparison changes the features and nothing else (a choice of
    rounds on a flat inner curve moved the MAE more than the features did).
    ``progress`` gets one line per step.
    """
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    chosen = [market_named(m) for m in (markets if markets is not None else MARKETS)]
    without = tuple(without)
    for group in without:
        if group not in GROUPS:
            raise UserError(f"--without {group}: no such feature group; groups: {', '.join(GROUPS)} "
                            "(model/dataset.py GROUPS)")
    start, end = as_date(start), as_date(end)
    eval_start = as_date(eval_start) if eval_start is not None else None
    _check_range(start, end, eval_start)
    t0 = time.perf_counter()
    rows = _entity_rows(start, end)
    if eval_start is None:
        if rows["game_date"].nunique() < 2:
            raise UserError(f"{start}..{end} holds games on a single date; a time split needs at least two")
        eval_start = default_eval_start(rows["game_date"])
    say(f"training sets of {', '.join(m.service for m in chosen)}: {len(rows):,} player-games "
        f"{rows['game_date'].min()}..{rows['game_date'].max()}, evaluated from {eval_start} ...")
    sets = load_training_sets(start, end, chosen)
    say(f"  retrieved in {time.perf_counter() - t0:.1f} s")
    run = MarketsRun(eval_start=eval_start, without=without)
    for i, m in enumerate(chosen, start=1):
        t1 = time.perf_counter()
        r = run.results[m.name] = train(start, end, eval_start, training_set=sets[m.service], market=m)
        say(f"[{i}/{len(chosen)}] {m.name}: {_progress(r.metrics)} ({time.perf_counter() - t1:.1f} s)")
        if without:
            t2 = time.perf_counter()
            reduced = run.reduced[m.name] = train(start, end, eval_start, training_set=sets[m.service], market=m,
                                                  drop=without, sizes=(r.metrics["model_selection"]["max_iter"],))
            run.effect[m.name] = feature_effect(r, reduced)
            say(f"[{i}/{len(chosen)}] {m.name} without {', '.join(without)}: {_progress(reduced.metrics)} "
                f"({time.perf_counter() - t2:.1f} s)")
    if chart and run.results:
        from model.charts import reliability_chart
        from nbafs import paths

        run.chart = reliability_chart(reliability_frames(run.results), paths.reports_dir() / "reliability.png")
        for r in run.results.values():
            r.metrics["reliability_chart"] = str(run.chart)
            artifacts.write_metrics(r.name, r.metrics)
    return run


def _progress(metrics: dict) -> str:
    ev = metrics["eval"]
    text = f"{metrics['train']['rows']:,} training rows, {ev['rows']:,} evaluated, MAE {_f(ev['model_mae'])}"
    season = ev["baselines"].get("season_avg")
    if season:
        text += f" (season avg {_f(season['mae'])})"
    b = metrics.get("betting")
    if b:
        text += f"; {b['bets']:,} bets, ROI {_roi(b['roi']['consensus'])}"
    return text


def feature_effect(full: TrainResult, reduced: TrainResult) -> dict:
    """Both models of a market on the same split: MAE, Brier and ROI with and without, and the change."""

    def summary(r: TrainResult) -> dict:
        ev, b = r.metrics["eval"], r.metrics.get("betting") or {}
        cal, roi = b.get("calibration", {}), b.get("roi", {})
        return {
            "model": r.name, "features": len(r.metrics["features"]), "rows": ev["rows"], "mae": ev["model_mae"],
            "brier": cal.get("brier_model"), "brier_market": cal.get("brier_market"), "bets": b.get("bets"),
            "hit_rate": b.get("hit_rate"), "roi_consensus": roi.get("consensus"), "roi_best": roi.get("best"),
        }

    with_, without = summary(full), summary(reduced)
    left_out = [f for f in full.metrics["features"] if f not in reduced.metrics["features"]]
    return {
        "market": full.market.name,
        "eval_start": full.metrics["eval_start"],
        "left_out": left_out,
        "with": with_,
        "without": without,
        "mae_change_without": _diff(without["mae"], with_["mae"]),
        "brier_change_without": _diff(without["brier"], with_["brier"]),
        "big_absence": big_absence_effect(full.eval_predictions, reduced.eval_predictions),
    }


BIG_ABSENCE = 25.0
"""``vacated_usage_share`` from which an absence counts as big: a quarter of the team's
possessions (a star, or two starters) missed the team's last game. Some rotation teammate
is out for 82% of the real season's rows, a big absence for 34% (sample season: 38%, 5%)."""


def big_absence_effect(full: pd.DataFrame, reduced: pd.DataFrame) -> dict:
    """Both models' MAE on the evaluation rows with a big absence (``vacated_usage_share >=
    BIG_ABSENCE``): where the availability proxies have most to say. The two frames hold the
    same rows; they are matched on (player_lookup, game_id)."""
    keys = ["player_lookup", "game_id"]
    both = full[[*keys, "actual", "predicted", "vacated_usage_share"]].merge(
        reduced[[*keys, "predicted"]], on=keys, suffixes=("", "_without"), validate="one_to_one")
    rows = both[both["vacated_usage_share"] >= BIG_ABSENCE]
    if rows.empty:
        return {"rows": 0, "mae_with": None, "mae_without": None, "mae_change_without": None}
    with_, without = mae(rows["actual"], rows["predicted"]), mae(rows["actual"], rows["predicted_without"])
    return {"rows": int(len(rows)), "share": float(len(rows) / len(both)), "mae_with": with_,
            "mae_without": without, "mae_change_without": without - with_}


def availability_effect(start, end, eval_start=None, markets=None, progress=None) -> dict[str, dict]:
    """Per market, the model with and without ``catalog.AVAILABILITY`` on the same split
    (``feature_effect``: MAE, Brier, ROI of each). Saves both models, like ``nbafs train
    --without availability``."""
    return train_markets(start, end, eval_start, markets, without=("availability",), progress=progress).effect


def _diff(a, b):
    return None if a is None or b is None else a - b


# --- command line --------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", required=True, type=argparse_date, help="first game date of the training range (YYYY-MM-DD)")
    parser.add_argument("--end", required=True, type=argparse_date, help="last game date of the training range (YYYY-MM-DD)")
    parser.add_argument("--eval-start", type=argparse_date, default=None,
                        help="first evaluation date; every model is fit on earlier dates only (default: 80%% through "
                             "the range's game dates, the same for every market)")
    parser.add_argument("--market", default=None, choices=[m.name for m in MARKETS],
                        help="train this market only (default: all five, one after the other); the model is saved "
                             "under data/models/player_<market>_v1/")
    parser.add_argument("--without", action="append", default=[], choices=list(GROUPS), metavar="GROUP",
                        help="also train each market without this feature group (availability: "
                             "catalog.AVAILABILITY) on the same split, saved as <service>_without_GROUP, and "
                             "report the effect")
    parser.add_argument("--json", action="store_true", help="print every market's metrics as JSON")


def run(args) -> int:
    markets = [args.market] if args.market else None
    result = train_markets(args.start, args.end, args.eval_start, markets, without=args.without)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
        return 0
    from rich.console import Console

    console = Console()
    for r in result.results.values():
        print_metrics(r.metrics, r.directory, console)
    print_markets(result, console)
    return 0


def print_metrics(metrics: dict, directory=None, console=None) -> None:
    """One market: MAE beside its baselines, over/under against the line, the bettor's figures."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    tr, ev = metrics["train"], metrics["eval"]
    unit = metrics.get("label", "points")
    console.print(
        f"[bold]{metrics['model']}[/bold]: trained on {tr['rows']:,} player-games {tr['first_date']}..{tr['last_date']}, "
        f"evaluated on {ev['rows']:,} from {ev['first_date']}..{ev['last_date']}"
    )
    table = Table(title=f"Evaluation on the later dates (MAE in {unit})")
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
        console.print("No evaluation row has a line known when asked: no over/under figures against it.")
    console.print("Each baseline is scored on the rows where it exists (the averages need an earlier game, a line "
                  "a quote); 'model there' is the model's MAE on exactly those rows. O/U: share of correct over/under "
                  "calls (calls in brackets) against the line known when asked, and against the closing line.")
    b = metrics.get("betting")
    if b:
        console.print(f"Bets at the bet snapshot: {b['verdict']}")
    console.print(f"Fingerprint {metrics['fingerprint'][:16]}…" + (f"  saved in {directory}" if directory else ""))


def market_rows(run: MarketsRun) -> dict[str, dict]:
    """The table across markets, one row per market, for ``model.betting.markdown_table``.

    A baseline's cell is its MAE on its own rows / the model's MAE on the same rows.
    """
    from model.betting import summary_row

    out = {}
    for name, r in run.results.items():
        ev = r.metrics["eval"]
        row = {"market": name, "rows": ev["rows"], "model MAE": ev["model_mae"]}
        for key, label in (("season_avg", "season avg"), ("last_5", "last 5"), ("last_10", "last 10"),
                           ("line", "line")):
            b = ev["baselines"].get(key)
            row[f"{label} / model"] = ("—" if not b or b["mae"] is None
                                       else f"{b['mae']:.3f} / {b['model_mae_same_rows']:.3f}")
        if name in run.effect:
            e = run.effect[name]
            row["MAE without " + "+".join(run.without)] = e["without"]["mae"]
            teammate = e.get("big_absence") or {}
            if teammate.get("rows"):
                row["big absence: MAE with / without"] = (f"{teammate['mae_with']:.3f} / {teammate['mae_without']:.3f} "
                                                           f"(n={teammate['rows']:,})")
        if r.metrics.get("betting"):
            row.update({k: v for k, v in summary_row(r.metrics["betting"]).items() if k not in ("market", "rows")})
        out[name] = row
    return out


def print_markets(run: MarketsRun, console=None) -> None:
    """The tables across markets (MAE; against the books), the verdicts and, with ``--without``, the effect."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    maes = Table(title=f"MAE per market, evaluated from {run.eval_start}: a baseline's own / the model's on its rows")
    for col in ("market", "rows", "model", "season avg", "last 5", "last 10", "line"):
        maes.add_column(col, justify="left" if col == "market" else "right")
    books = Table(title="Against the books at the bet snapshot (flat stakes; 95% bootstrap interval over game dates)")
    for col in ("market", "bets", "hit rate", "break-even", "ROI consensus", "ROI best price", "Brier model",
                "Brier market"):
        books.add_column(col, justify="left" if col == "market" else "right")
    verdicts = []
    for name, r in run.results.items():
        ev, b = r.metrics["eval"], r.metrics.get("betting")

        def base(key):
            x = ev["baselines"].get(key)
            return "—" if not x or x["mae"] is None else f"{x['mae']:.2f} / {x['model_mae_same_rows']:.2f}"

        maes.add_row(name, f"{ev['rows']:,}", _f(ev["model_mae"]), base("season_avg"), base("last_5"),
                     base("last_10"), base("line"))
        if b:
            cal = b["calibration"]
            books.add_row(name, f"{b['bets']:,}", _pct(b["hit_rate"]), _pct(b["break_even"]),
                          _roi(b["roi"]["consensus"]), _roi(b["roi"]["best"]), _f(cal["brier_model"], 4),
                          _f(cal["brier_market"], 4))
            verdicts.append(b["verdict"])
        else:
            books.add_row(name, *["—"] * 7)
    console.print(maes)
    console.print(books)
    for v in verdicts:
        console.print(f"• {v}")
    if run.effect:
        eff = Table(title=f"Effect of the {'+'.join(run.without)} features: the same split with and without")
        for col in ("market", "MAE with", "MAE without", "Δ MAE", "Δ MAE, big absence", "Brier with",
                    "Brier without", "ROI with", "ROI without"):
            eff.add_column(col, justify="left" if col == "market" else "right")
        for name, e in run.effect.items():
            w, wo, out = e["with"], e["without"], e.get("big_absence") or {}
            eff.add_row(name, _f(w["mae"]), _f(wo["mae"]),
                        "—" if e["mae_change_without"] is None else f"{e['mae_change_without']:+.3f}",
                        "—" if out.get("mae_change_without") is None
                        else f"{out['mae_change_without']:+.3f} (n={out['rows']:,})",
                        _f(w["brier"], 4), _f(wo["brier"], 4), _roi(w["roi_consensus"], ci=False),
                        _roi(wo["roi_consensus"], ci=False))
        console.print(eff)
        left_out = next(iter(run.effect.values()))["left_out"]
        console.print(f"Left out: {', '.join(left_out)}. Δ MAE > 0: the model is worse without them; 'big absence': "
                      f"on the evaluation rows whose missing teammates used >= {BIG_ABSENCE:g}% of the team's possessions.")
    if run.chart:
        console.print(f"Reliability chart: {run.chart}")


BASELINE_LABELS = {"season_avg": "season avg", "last_5": "last-5 avg", "last_10": "last-10 avg",
                   "line": "line (asked)", "closing_line": "closing line"}


def _ou(entry) -> str:
    if not entry or entry["accuracy"] is None:
        return "—"
    return f"{_pct(entry['accuracy'])} ({entry['calls']:,})"


def _roi(entry, ci: bool = True) -> str:
    if not entry or entry.get("roi") is None:
        return "—"
    text = f"{100 * entry['roi']:+.1f}%"
    if ci and entry.get("ci_low") is not None:
        text += f" [{100 * entry['ci_low']:+.1f}, {100 * entry['ci_high']:+.1f}]"
    return text


def _f(x, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"
