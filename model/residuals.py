"""P(stat > line): the model's out-of-sample errors turned into a probability.

The model predicts a count (points, rebounds...); how sure it is comes from how wrong it
was on games it had not seen. The residuals ``actual - predicted`` are those of the
training dates' inner validation rows (``model.train.select_model``: the last 20% of the
training dates, predicted by the chosen-size model fit on the first 80%), so they are out
of sample and the evaluation dates, where P(over) is then judged, are never among them.
They are grouped by predicted value into quantile bins, since a 30-point scorer's spread
is wider than a 6-point bench player's. For a new prediction ``p`` and a line ``L``, with
the residuals ``r`` of ``p``'s bin:

    P(over) = (#{r : p + r > L} + 1) / (n + 2)

the empirical share of outcomes above the line, with add-one smoothing so that a small
bin never claims certainty. ``P(under) = 1 - P(over)`` (a push has no probability mass
for the usual x.5 lines; for a whole-number line the push share is folded into under).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_PER_BIN = 200
MAX_BINS = 5


@dataclass
class ResidualModel:
    edges: list[float]  # inner bin edges on the predicted value (len = bins - 1)
    residuals: list[list[float]]  # sorted residuals per bin

    @classmethod
    def fit(cls, predicted: np.ndarray, actual: np.ndarray) -> "ResidualModel":
        predicted = np.asarray(predicted, dtype=float)
        actual = np.asarray(actual, dtype=float)
        ok = ~np.isnan(predicted) & ~np.isnan(actual)
        predicted, actual = predicted[ok], actual[ok]
        if len(predicted) == 0:
            raise ValueError("no residuals to fit a residual model on (no out-of-sample row with a label)")
        bins = max(1, min(MAX_BINS, len(predicted) // MIN_PER_BIN))
        edges = list(np.unique(np.quantile(predicted, np.linspace(0, 1, bins + 1)[1:-1]))) if bins > 1 else []
        which = np.searchsorted(edges, predicted, side="right")
        residuals = [sorted((actual - predicted)[which == b].tolist()) for b in range(len(edges) + 1)]
        return cls(edges=[float(e) for e in edges], residuals=residuals)

    def p_over(self, predicted: np.ndarray, line: np.ndarray) -> np.ndarray:
        """P(stat > line) per row; NaN where there is no line or no prediction."""
        predicted = np.atleast_1d(np.asarray(predicted, dtype=float))
        line = np.atleast_1d(np.asarray(line, dtype=float))
        out = np.full(len(predicted), np.nan)
        which = np.searchsorted(self.edges, predicted, side="right")
        for i, (p, l, b) in enumerate(zip(predicted, line, which)):
            if np.isnan(p) or np.isnan(l):
                continue
            r = np.asarray(self.residuals[b])
            # p + r > l  <=>  r > l - p; residuals are sorted.
            above = len(r) - np.searchsorted(r, l - p, side="right")
            out[i] = (above + 1) / (len(r) + 2)
        return out

    def to_json(self) -> dict:
        return {"method": "empirical out-of-sample residuals by predicted-value bin, add-one smoothing",
                "edges": self.edges, "residuals": self.residuals}

    @classmethod
    def from_json(cls, data: dict) -> "ResidualModel":
        return cls(edges=list(data["edges"]), residuals=[list(r) for r in data["residuals"]])
