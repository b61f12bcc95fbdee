"""The batch SQL and the on-demand view compute the same usage_spike_score.

``nba_precompute.player_composite_factors.usage_spike_score`` is written by the batch
SQL (transformations/sql/precompute/player_composite_factors.sql); the feature service
serves ``usage_spike_score`` from the on-demand view ``usage_spike``, which recomputes it
from the served ``avg_usage_rate_last_7_games`` and ``season_usage_rate`` with
``transformations/on_demand.py``. If the two drifted apart, training (historical
retrieval) and serving would see different numbers for feature 8.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from serving.training_set import entity_rows_for_range
from tests.feast_repo import _sample_store_home, sample_store  # noqa: F401 - fixtures
from transformations import on_demand
from warehouse import storage


def _both(a: pd.Series, b: pd.Series) -> None:
    a = a.astype("float64").to_numpy()
    b = b.astype("float64").to_numpy()
    assert np.array_equal(np.isnan(a), np.isnan(b)), "NULL in one and not in the other"
    assert np.array_equal(a[~np.isnan(a)], b[~np.isnan(b)]), "values differ"


def test_python_function_equals_batch_sql_on_every_warehouse_row(sample_store):
    con = storage.connect()
    rows = con.sql(
        """SELECT c.avg_usage_rate_last_7_games, p.season_usage_rate, p.usage_spike_score
           FROM nba_precompute.player_composite_factors p
           JOIN nba_analytics.upcoming_player_game_context c USING (game_id, player_lookup)"""
    ).df()
    assert len(rows) > 500 and rows["usage_spike_score"].notna().mean() > 0.8
    python = on_demand.usage_spike_score(
        [None if pd.isna(x) else x for x in rows["avg_usage_rate_last_7_games"]],
        [None if pd.isna(x) else x for x in rows["season_usage_rate"]],
    )
    _both(pd.Series(python, dtype="float64"), rows["usage_spike_score"])


def test_on_demand_view_serves_the_batch_value_in_training_retrieval(sample_store):
    entity = entity_rows_for_range()[["player_lookup", "game_id", "event_timestamp"]]
    entity = entity.assign(line_offered=np.nan)
    got = sample_store.get_historical_features(
        entity_df=entity,
        features=["usage_spike:usage_spike_score", "player_composite_factors:usage_spike_score"],
        full_feature_names=True,
        filter_by_created_timestamp=True,
    ).to_df()
    assert len(got) == len(entity)
    assert got["usage_spike__usage_spike_score"].notna().mean() > 0.8
    _both(got["usage_spike__usage_spike_score"], got["player_composite_factors__usage_spike_score"])


def test_missing_in_missing_out():
    """NULL inputs (and a zero season rate) give NULL, never 0."""
    assert on_demand.usage_spike_score([None, 20.0, float("nan"), 20.0], [10.0, None, 10.0, 0.0]) == [None] * 4
    assert on_demand.usage_spike_score([30.0], [20.0]) == [1.5]
    assert on_demand.points_avg_last_5_minus_line([20.0, None, 18.5], [None, 20.5, 20.0]) == [None, None, -1.5]
