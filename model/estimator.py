"""The regressor: gradient boosting, optionally on the deviation from a baseline feature.

``OffsetRegressor(offset_feature="rebounds_avg_season")`` fits the boosted trees to
``rebounds - rebounds_avg_season`` and adds the season average back when predicting, so
the trees model how a game departs from the player's level instead of the level itself;
trees cannot extrapolate, and a star's level is rare in any training set. Where the
offset feature is NULL (a player's first game) the offset is 0 and the trees, which
still see the feature as missing, learn the level from the other features: the NULL is
never replaced in the features. ``offset_feature=None`` is plain boosting on the stat.

Every market's model is fit around its stat's season average (``model.train.targets``);
the number of rounds is chosen on the training dates alone (``model.train.select_model``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

# One OpenMP thread: on a small shared machine gradient boosting's thread team spins
# against other processes and runs 20x slower than one thread (measured: 32 s vs 1.8 s
# for a season's fit with the load above the core count). One thread is also what a
# 2-core laptop running the demo can spare.
THREADS = 1


class OffsetRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, offset_feature: str | None = None, boosting_params: dict | None = None):
        self.offset_feature = offset_feature
        self.boosting_params = boosting_params

    def _offset(self, X: pd.DataFrame) -> np.ndarray:
        if self.offset_feature is None:
            return np.zeros(len(X))
        return np.nan_to_num(X[self.offset_feature].to_numpy(dtype=float), nan=0.0)

    def fit(self, X: pd.DataFrame, y) -> "OffsetRegressor":
        self.boosting_ = HistGradientBoostingRegressor(**(self.boosting_params or {}))
        with threadpool_limits(THREADS):
            self.boosting_.fit(X, np.asarray(y, dtype=float) - self._offset(X))
        self.n_features_in_ = self.boosting_.n_features_in_
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(THREADS):
            return self.boosting_.predict(X) + self._offset(X)

    def staged_predict(self, X: pd.DataFrame):
        """Predictions after each boosting iteration (for choosing the number of rounds)."""
        offset = self._offset(X)
        with threadpool_limits(THREADS):
            staged = [pred + offset for pred in self.boosting_.staged_predict(X)]
        yield from staged
