"""Time split, honest baselines and the metrics a model is judged by.

Split: train on game dates before ``eval_start``, evaluate on dates from
``eval_start`` on. Rows are never shuffled across time; the default ``eval_start`` is
the first game date at or after 80% of the way through the range's game dates.

Baselines per market (:func:`baselines`), each read from the same point-in-time feature
vector the model sees, ``<stat>`` being the market's stat (points, rebounds, threes_made...):

- ``season_avg``: the player's season mean before the game (``<stat>_avg_season``);
- ``last_5``, ``last_10``: his mean over the last 5 / 10 games played (``<stat>_avg_last_N``);
- ``line``: the market's consensus line (``<market>_line``), where a book quoted one by the
  time asked;
- ``closing_line``: the game's last line before tip-off, when the frame carries it
  (an outcome read after the fact for evaluation, never a feature; model/outcomes.py).

A baseline has no value where its feature is NULL (a player's first game, no line).
Nothing is filled in: each baseline is scored on the rows where it exists, and the
model is scored on exactly those same rows beside it (``model_mae_same_rows``), so
every comparison is like for like. The model's MAE on all evaluation rows is reported
separately.

Over/under: on rows with a line (the one known when asked, and separately the closing
line), a predictor calls *over* when its prediction is above
the line and *under* when below; a prediction equal to the line is no call, and a
game whose points equal the line (a push) is excluded. Accuracy is the share of
correct calls. The share of unders among decided rows is given as the trivial
"always under" reference.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from warehouse.markets import MARKETS, POINTS, Market


def baselines(market: Market = POINTS) -> dict[str, str]:
    """A market's baselines: name -> the feature column read as the prediction."""
    s = market.stat
    return {"season_avg": f"{s}_avg_season", "last_5": f"{s}_avg_last_5", "last_10": f"{s}_avg_last_10",
            "line": market.line_feature}


BASELINES: dict[str, str] = baselines(POINTS)
CLOSING_LINE = "closing_line"  # not a feature: the game's last line before tip-off (model/outcomes.py)
DEFAULT_EVAL_FRACTION = 0.8


@dataclass(frozen=True)
class Split:
    eval_start: dt.date
    train_mask: np.ndarray
    eval_mask: np.ndarray

    @property
    def n_train(self) -> int:
        return int(self.train_mask.sum())

    @property
    def n_eval(self) -> int:
        return int(self.eval_mask.sum())


def default_eval_start(dates: pd.Series | list[dt.date], fraction: float = DEFAULT_EVAL_FRACTION) -> dt.date:
    """The first distinct game date at or after ``fraction`` of the way through them.

    Needs at least two distinct dates, so that both sides of the split are non-empty.
    """
    distinct = sorted(set(dates))
    if len(distinct) < 2:
        raise ValueError(f"a time split needs at least two game dates; got {len(distinct)}")
    idx = min(max(int(round(fraction * len(distinct))), 1), len(distinct) - 1)
    return distinct[idx]


def time_split(dates: pd.Series, eval_start: dt.date) -> Split:
    """Train on dates before ``eval_start``, evaluate on dates from it on."""
    d = np.asarray(list(dates), dtype=object)
    train = np.array([x < eval_start for x in d], dtype=bool)
    return Split(eval_start=eval_start, train_mask=train, eval_mask=~train)


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if len(y_true) == 0:
        return None
    return float(np.mean(np.abs(y_true - y_pred)))


def over_under(actual: np.ndarray, predicted: np.ndarray, line: np.ndarray) -> dict:
    """Share of correct over/under calls on rows with a line (pushes and no-calls excluded)."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    line = np.asarray(line, dtype=float)
    has = ~np.isnan(line) & ~np.isnan(predicted) & ~np.isnan(actual)
    decided = has & (actual != line)
    called = decided & (predicted != line)
    correct = called & ((predicted > line) == (actual > line))
    n_called = int(called.sum())
    return {
        "rows_with_line": int(has.sum()),
        "pushes": int((has & (actual == line)).sum()),
        "calls": n_called,
        "correct": int(correct.sum()),
        "accuracy": float(correct.sum() / n_called) if n_called else None,
        "under_share": float((decided & (actual < line)).sum() / decided.sum()) if decided.sum() else None,
    }


def evaluate(frame: pd.DataFrame, predicted: np.ndarray, label: str = "points", market: Market | None = None) -> dict:
    """Metrics of ``predicted`` against the label and every baseline on ``frame``'s rows.

    ``frame`` holds the label and the market's baseline feature columns
    (:func:`baselines`; a column absent counts as NULL everywhere) and, optionally,
    ``closing_line`` (the game's last line before tip-off, model/outcomes.py): then the
    closing line is one more baseline and every over/under figure is also given against
    it (``over_under_closing``). ``market`` defaults to the one whose stat is ``label``.
    """
    market = market or next((m for m in MARKETS if m.stat == label), POINTS)
    y = frame[label].to_numpy(dtype=float)
    pred = np.asarray(predicted, dtype=float)
    out: dict = {"rows": int(len(y)), "model_mae": mae(y, pred), "baselines": {}}
    base_columns = baselines(market)
    lines = {"over_under": _column(frame, base_columns["line"])}
    if CLOSING_LINE in frame:
        lines["over_under_closing"] = _column(frame, CLOSING_LINE)
    columns = dict(base_columns, **({"closing_line": CLOSING_LINE} if CLOSING_LINE in frame else {}))
    for name, column in columns.items():
        base = _column(frame, column)
        rows = ~np.isnan(base)
        entry = {
            "feature": column,
            "rows": int(rows.sum()),
            "mae": mae(y[rows], base[rows]),
            "model_mae_same_rows": mae(y[rows], pred[rows]),
        }
        if name not in ("line", "closing_line"):
            for key, line in lines.items():
                entry[key] = over_under(y, np.where(rows, base, np.nan), line)
        out["baselines"][name] = entry
    for key, line in lines.items():
        out[key] = over_under(y, pred, line)
    return out


def _column(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=float) if column in frame else np.full(len(frame), np.nan)
