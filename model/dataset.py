"""The model's view of a training set or a slate: features in the service's order.

The feature order is the feature service's, ``feature_repo.catalog.PLAYER_POINTS_V1``,
declared once there; this module only reads it, leaving out the line features (see
``LINE_FEATURES``).

Missing values stay missing. ``HistGradientBoostingRegressor`` learns where NaN goes at
every split, so a player without history is not confused with a player who averages
0 points. Booleans become 1.0/0.0 with NULL kept as NaN; integers become floats.
Nothing is ever filled with 0.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from feature_repo.catalog import PLAYER_POINTS_V1
from nbafs.timeline import EASTERN

LABEL = "points"

# Served but not learned from: the over/under call reads the line, the regressor does not.
# Books quote only rotation players, so in training a missing line means "fringe
# player"; at prediction time the day's line is often not out yet at noon (on the real
# season most snapshots land seconds after noon Eastern), and a tree model reads that
# absence as "fringe player" too: on the real 2025-12-05 slate it predicted ~22 points
# for every star. Missing-not-at-random inputs have no honest place in the regressor.
LINE_FEATURES: tuple[str, ...] = ("points_line", "points_avg_last_5_minus_line")
FEATURES: tuple[str, ...] = tuple(f for f in PLAYER_POINTS_V1 if f not in LINE_FEATURES)


def feature_matrix(df: pd.DataFrame, features: tuple[str, ...] | list[str] = FEATURES) -> pd.DataFrame:
    """A float64 frame of ``features`` in order; NULLs (None, pd.NA, NaN) become NaN.

    Raises KeyError naming the missing columns when the frame lacks a feature: a model
    must never see a column silently replaced by a default.
    """
    missing = [f for f in features if f not in df.columns]
    if missing:
        raise KeyError(
            f"the frame lacks feature column(s) {missing} of the feature service order; "
            f"it has {list(df.columns)}"
        )
    out = {}
    for name in features:
        col = df[name]
        if col.dtype == object or str(col.dtype) in ("boolean", "bool"):
            # Object columns hold True/False/None from Feast; map without touching NULLs.
            values = col.map(lambda v: np.nan if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else float(v))
            out[name] = values.astype("float64").to_numpy()
        else:
            out[name] = pd.to_numeric(col, errors="raise").astype("float64").to_numpy()
    return pd.DataFrame(out, index=df.index, columns=list(features))


def game_dates(df: pd.DataFrame) -> pd.Series:
    """The game date of each row: ``game_date`` when present, else the Eastern calendar
    date of the row's ``event_timestamp`` (training examples are asked at noon Eastern
    on the game date, so that date is the game's)."""
    if "game_date" in df.columns:
        return pd.to_datetime(df["game_date"]).dt.date
    ts = pd.to_datetime(df["event_timestamp"], utc=True)
    return ts.dt.tz_convert(EASTERN).dt.date


def as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
