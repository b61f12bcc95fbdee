"""The model's view of a training set or a slate: features in the service's order.

A market's features (:func:`features_for`) are its feature service's order,
``feature_repo.catalog.SERVICES[market.service]``, declared once there, less the market's
line features (``catalog.line_features(market)``: served, shown and evaluated against,
never learned from). Without ``drop``: every other feature; ``drop=("availability",)``
leaves out a group too (:data:`GROUPS`), for a like-for-like comparison.

Missing values stay missing. ``HistGradientBoostingRegressor`` learns where NaN goes at
every split, so a player without history is not confused with a player who averages
0 points. Booleans become 1.0/0.0 with NULL kept as NaN; integers become floats.
Nothing is ever filled with 0.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import numpy as np
import pandas as pd

from feature_repo import catalog
from nbafs.timeline import EASTERN
from warehouse.markets import POINTS, Market

GROUPS: dict[str, tuple[str, ...]] = {"availability": catalog.AVAILABILITY}
"""Feature groups a model can be trained without (``--without GROUP``)."""


def label_for(market: Market) -> str:
    """The label column of a market's training set: its stat (points, rebounds, threes_made, pra...)."""
    return market.stat


def features_for(market: Market, drop: Iterable[str] = ()) -> tuple[str, ...]:
    """The features a market's model learns from, in its service's order.

    ``drop``: group names of :data:`GROUPS` (or single feature names) left out as well.
    """
    left_out = set(catalog.line_features(market))
    for name in drop:
        if name in GROUPS:
            left_out |= set(GROUPS[name])
        elif name in catalog.SERVICES[market.service]:
            left_out.add(name)
        else:
            raise KeyError(f"nothing to drop called {name!r}: groups are {', '.join(GROUPS)}, or a feature of "
                           f"{market.service}")
    return tuple(f for f in catalog.SERVICES[market.service] if f not in left_out)


LABEL = label_for(POINTS)
# Why lines are not learned from: books quote only rotation players, so in training a
# missing line means "fringe player"; at prediction time the day's line is often not out
# yet at noon (on the real season most snapshots land seconds after noon Eastern), and a
# tree model reads that absence as "fringe player" too: on the real 2025-12-05 slate it
# predicted ~22 points for every star. Missing-not-at-random inputs have no honest place
# in the regressor.
LINE_FEATURES: tuple[str, ...] = catalog.line_features(POINTS)
FEATURES: tuple[str, ...] = features_for(POINTS)
"""The points model's features (player_points_v1 less its line features)."""


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
