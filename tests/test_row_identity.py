"""Training retrieval attaches results to entity rows by row key, never by position.

BigQuery (and the BigQuery emulator) returns the rows of ``get_historical_features`` in
no particular order. Here the real DuckDB offline store is wrapped by one that returns
its result rows reversed, as any order-free store may: the training set must still
equal the one built on the in-order store, row for row, and a store that loses or
repeats a row must be an error, not a shifted training set.
"""
from __future__ import annotations

from typing import Literal

import pandas as pd
import pyarrow as pa
import pytest
from feast import FeatureStore

from feast_plugins.offline_store import NbaDuckDBOfflineStore, NbaDuckDBOfflineStoreConfig
from nbafs.errors import UserError
from serving.training_set import build_training_set, entity_rows_for_range
from tests.feast_repo import _sample_store_home, config, sample_store  # noqa: F401 - fixtures

REVERSED = "tests.test_row_identity.ReversedOfflineStore"
LOSSY = "tests.test_row_identity.LossyOfflineStore"


class ReversedOfflineStoreConfig(NbaDuckDBOfflineStoreConfig):
    type: Literal["tests.test_row_identity.ReversedOfflineStore"] = REVERSED  # type: ignore[assignment]


class LossyOfflineStoreConfig(NbaDuckDBOfflineStoreConfig):
    type: Literal["tests.test_row_identity.LossyOfflineStore"] = LOSSY  # type: ignore[assignment]


def _rewrap(job, rows):
    inner = job._to_arrow_internal
    job._to_arrow_internal = lambda timeout=None: rows(inner(timeout))
    return job


class ReversedOfflineStore(NbaDuckDBOfflineStore):
    """Our DuckDB store, returning the rows of every retrieval in reverse order."""

    @staticmethod
    def get_historical_features(*args, **kwargs):
        job = NbaDuckDBOfflineStore.get_historical_features(*args, **kwargs)
        return _rewrap(job, lambda t: t.take(pa.array(range(t.num_rows - 1, -1, -1))))


class LossyOfflineStore(NbaDuckDBOfflineStore):
    """Our DuckDB store, returning the first row twice and dropping the last."""

    @staticmethod
    def get_historical_features(*args, **kwargs):
        job = NbaDuckDBOfflineStore.get_historical_features(*args, **kwargs)
        return _rewrap(job, lambda t: t.take(pa.array([0, *range(t.num_rows - 1)])))


def _store(home, kind: str) -> FeatureStore:
    return FeatureStore(config=config(home / "feast", offline_store={"type": kind}))


def test_rows_returned_in_another_order_are_attached_by_key(sample_store, _sample_store_home):
    entity = entity_rows_for_range().sample(300, random_state=4).reset_index(drop=True)
    expected = build_training_set(entity, store=sample_store)
    got = build_training_set(entity, store=_store(_sample_store_home, REVERSED))
    assert got["player_lookup"].tolist() == entity["player_lookup"].tolist()
    pd.testing.assert_frame_equal(got, expected)
    # The line fed to the on-demand view is the one of the row's own game.
    assert got["line_offered"].notna().sum() > 20


def test_a_lost_or_repeated_row_is_an_error_not_a_shift(_sample_store_home, sample_store):
    entity = entity_rows_for_range().head(50)
    with pytest.raises(UserError, match=r"returned 50 rows for 50 entity rows .*missing: \[49\].*Nothing was attached"):
        build_training_set(entity, store=_store(_sample_store_home, LOSSY))

