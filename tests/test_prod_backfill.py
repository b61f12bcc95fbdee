"""The main job's guarantees in the production profile (BigQuery, GCS, Redis stand-ins).

Protects:
- ``nbafs training-set`` on BigQuery equals the local one row for row (joined on the
  keys, floats within 1e-9): the same training set, whatever order BigQuery returns;
- ``nbafs backfill`` on BigQuery runs preflight, transform, gates, materialize into Redis
  with a checkpoint per view in GCS, verify and the report, and Redis then serves the
  values the local store serves;
- a renamed upstream column (``scraped_at`` for ``created_at``) stops the backfill in
  preflight within seconds, naming the table, the column and the closest name, with
  nothing written to Redis and no checkpoint;
- a chunk whose usage is all zero stops before anything of it reaches Redis, naming
  the feature and the date; the chunks before it are written.
"""
from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from nbafs import cli
from nbafs.timeline import box_score_known_at
from tests import league
from tests.league import local_league, prod_league  # noqa: F401 - fixtures
from tests.stack_support import redis_dump
from warehouse import engine, gcs
from warehouse.schema import BDL_PLAYER_BOXSCORES, ODDS_API_PLAYER_POINTS_PROPS

pytestmark = pytest.mark.prod

FIRST, LAST = dt.date(2025, 10, 21), dt.date(2025, 12, 2)  # the league's game dates
BROKEN_FROM = dt.date(2025, 11, 10)
KEYS = ["player_lookup", "game_id", "event_timestamp"]


def _training_set(monkeypatch, env: dict[str, str], out) -> pd.DataFrame:
    league.use(monkeypatch, env)
    assert cli.main(["training-set", "--start", "2025-11-01", "--end", "2025-11-30", "--out", str(out)]) == 0
    return pq.read_table(out).to_pandas()


def test_training_set_on_bigquery_equals_the_local_one_row_for_row(local_league, prod_league, monkeypatch, tmp_path):
    local = _training_set(monkeypatch, local_league, tmp_path / "local.parquet")
    prod = _training_set(monkeypatch, prod_league, tmp_path / "prod.parquet")
    assert len(prod) == len(local) > 500
    assert list(prod.columns) == list(local.columns)
    joined = local.merge(prod, on=KEYS, how="outer", suffixes=("_local", "_prod"), indicator=True, validate="one_to_one")
    assert (joined["_merge"] == "both").all(), "a player-game is in one training set only"
    compared = 0
    for column in local.columns.difference(KEYS + ["game_date"]):
        a, b = joined[f"{column}_local"], joined[f"{column}_prod"]
        assert (a.isna() == b.isna()).all(), f"{column}: NULL in one profile only"
        x = pd.to_numeric(a[a.notna()]).astype("float64").to_numpy()
        y = pd.to_numeric(b[b.notna()]).astype("float64").to_numpy()
        assert np.allclose(x, y, rtol=1e-9, atol=1e-9), f"{column}: values differ between the profiles"
        compared += len(x)
    assert compared > 10 * len(local)


@pytest.fixture
def own_league(prod_env, monkeypatch) -> dict[str, str]:
    """A league of this test's own in BigQuery (the test changes its rows)."""
    monkeypatch.setenv("NBAFS_PROGRESS", "plain")
    league.build()
    return prod_env


def _checkpoints() -> dict[str, int | None]:
    """The generation of each feature view's checkpoint object in GCS (None: none written)."""
    from feature_repo.feature_views import FEATURE_VIEWS

    objects = gcs.ObjectStore()
    found = {}
    for view in FEATURE_VIEWS:
        version = objects.read(f"feast/state/nba_feature_store/checkpoints/{view}.json")
        found[view] = version.generation if version else None
    return found


def test_backfill_on_bigquery_fills_redis_with_checkpoints_and_stops_on_a_renamed_column(own_league, capsys):
    assert cli.main(["backfill", "--start", str(FIRST), "--end", "2025-11-20"]) == 0
    out = capsys.readouterr().out
    assert "preflight" in out and "verify" in out
    dump = redis_dump(own_league)
    assert len(dump) > 100, "the backfill wrote the views' rows to Redis"
    before = _checkpoints()
    assert all(before.values()), f"a checkpoint per view in GCS: {before}"

    # A renamed upstream column: preflight stops the next backfill within seconds, nothing written.
    engine.current().execute(f"ALTER TABLE {ODDS_API_PLAYER_POINTS_PROPS.fqn} RENAME COLUMN created_at TO scraped_at")
    t0 = time.monotonic()
    assert cli.main(["backfill", "--start", "2025-11-21", "--end", str(LAST)]) == 1
    seconds = time.monotonic() - t0
    err = capsys.readouterr().err
    assert ODDS_API_PLAYER_POINTS_PROPS.fqn in err and "'created_at'" in err and "'scraped_at'" in err, err
    assert seconds < 20, f"preflight took {seconds:.1f} s"
    assert redis_dump(own_league) == dump, "nothing reached Redis"
    assert _checkpoints() == before, "no checkpoint written"


def test_a_chunk_with_zero_usage_stops_before_it_reaches_redis(own_league, monkeypatch, capsys):
    """Upstream loses the shot attempts from a mid-season date: usage_rate is 0 there, not NULL."""
    engine.current().execute(
        f"UPDATE {BDL_PLAYER_BOXSCORES.fqn} SET fgm = 0, fga = 0, fg3m = 0, fg3a = 0, ftm = 0, fta = 0, "
        f"turnovers = 0 WHERE game_date >= DATE '{BROKEN_FROM}'")
    monkeypatch.setenv("NBAFS_CHUNK_ROWS", "400")  # several chunks before the break
    assert cli.main(["backfill", "--start", str(FIRST), "--end", str(LAST)]) == 1
    err = capsys.readouterr().err
    assert "usage_rate" in err and BROKEN_FROM.isoformat() in err, err
    assert "zero" in err
    dump = redis_dump(own_league)
    assert dump, "the chunks before the break were written"
    from google.protobuf.timestamp_pb2 import Timestamp  # Feast's _ts:<view> fields

    latest = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    for fields in dump.values():
        for name, raw in fields.items():
            if name.startswith(b"_ts:"):
                ts = Timestamp()
                ts.ParseFromString(raw)
                latest = max(latest, ts.ToDatetime(tzinfo=dt.timezone.utc))
    # The first broken rows are BROKEN_FROM's box scores, known (event time) at 06:00 UTC the
    # day after; a chunk ending before them is rightly written, wherever the plan cut the chunks.
    first_broken = box_score_known_at(BROKEN_FROM)
    assert latest < first_broken, (
        f"a value with event time {latest} reached Redis (the first broken rows are at {first_broken}): "
        f"the failing chunk was written")
