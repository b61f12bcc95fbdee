"""Property: every value training retrieval returns is exactly what was known at the time asked.

Hypothesis builds random histories straight into the warehouse tables the feature views
read (through ``warehouse.validate.conform`` and ``warehouse.storage.write_partitions``,
like any writer): a few players, rows at random event times, rows written late
(``created_at`` well after the event), late corrections (a second row for the same
player and event time, written later, with other values), rows dated in the future,
and tables left empty. For random (player, game, time) requests it retrieves the whole
feature service ``player_points_v1`` through ``FeatureStore.get_historical_features``
with ``filter_by_created_timestamp=True`` and checks each value against a brute-force
pandas recomputation: among the rows of that key with event_timestamp <= t and
created_at <= t and within the view's ttl, the one with the greatest (event_timestamp,
created_at); NULL when there is none. The on-demand features are checked against their
formulas on the expected inputs, and the output must have one row per request, in order.
"""
from __future__ import annotations

import datetime as dt
import math
import shutil
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feature_repo import catalog
from feature_repo.feature_views import FEATURE_VIEWS
from nbafs import paths
from tests.feast_repo import applied_store
from warehouse import schema, storage
from warehouse.validate import conform

PLAYERS = ("ann", "bob", "cy")
GAMES = ("G1", "G2")
BASE = pd.Timestamp("2025-11-01 00:00", tz="UTC")
VIEW_TABLES = {name: schema.table(view.batch_source.name) for name, view in FEATURE_VIEWS.items()}
BY_GAME = {name for name, view in FEATURE_VIEWS.items() if "game" in view.entities}  # keyed by player and game


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    home = tmp_path_factory.mktemp("pit-property")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(home / "data"))
        yield applied_store(home / "feast")


# --- random histories ----------------------------------------------------------------------

row_spec = st.tuples(
    st.integers(0, len(PLAYERS) - 1),   # player
    st.integers(0, len(GAMES) - 1),     # game (keys the line view)
    st.integers(0, 4 * 24),             # event time: hours after BASE (same hour = same time: ties)
    st.integers(-180, 3 * 24 * 60),     # created_at - event time, minutes (negative: written ahead)
    st.one_of(st.none(), st.integers(1, 3 * 24 * 60)),  # a late correction, minutes after the row was written
)
history = st.fixed_dictionaries({
    view: st.lists(row_spec, max_size=7) for view in VIEW_TABLES
})
request_spec = st.tuples(
    st.integers(0, len(PLAYERS)),       # len(PLAYERS) = a player with no rows at all
    st.integers(0, len(GAMES) - 1),
    st.integers(-12 * 60, 6 * 24 * 60),  # minutes after BASE
    st.one_of(st.none(), st.floats(0.5, 40, allow_nan=False).map(lambda x: round(x, 1))),  # line offered
)


@dataclass
class Row:
    player: str
    game: str
    ts: pd.Timestamp
    created: pd.Timestamp
    values: dict


def _value(rng: np.random.Generator, dtype: str, nullable: bool):
    if nullable and rng.random() < 0.2:
        return None
    if dtype == "Float64":
        return float(round(rng.uniform(0.5, 40), 3))
    if dtype == "Int64":
        return int(rng.integers(0, 30))
    return bool(rng.random() < 0.5)


def _rows(view: str, specs, rng, serial) -> list[Row]:
    table = VIEW_TABLES[view]
    features = catalog.features_of_view(view)
    out = []
    for p, g, hours, created_min, correction in specs:
        ts = BASE + pd.Timedelta(hours=hours)
        # created_at unique per row (+ a serial number of seconds): no two rows of a key tie
        # on (event_timestamp, created_at), where Feast's choice would be arbitrary.
        created = ts + pd.Timedelta(minutes=created_min) + pd.Timedelta(seconds=next(serial))
        vals = {f.name: _value(rng, f.dtype, table.column(f.name).nullable) for f in features}
        out.append(Row(PLAYERS[p], GAMES[g], ts, created, vals))
        if correction is not None and view not in BY_GAME:
            # the line table's grain includes the snapshot time, so a line is corrected by a
            # later snapshot, which the random rows already cover
            fixed = {f.name: _value(rng, f.dtype, table.column(f.name).nullable) for f in features}
            out.append(Row(PLAYERS[p], GAMES[g], ts, created + pd.Timedelta(minutes=correction), fixed))
    if view in BY_GAME:  # one snapshot per (player, game, time)
        seen, unique = set(), []
        for r in out:
            if (r.player, r.game, r.ts) not in seen:
                seen.add((r.player, r.game, r.ts))
                unique.append(r)
        out = unique
    return out


def _default(column: schema.Column, row: Row):
    if column.type == "STRING":
        return "x"
    if column.type == "INT64":
        return int(max(column.min_value or 0, 1))
    if column.type == "FLOAT64":
        return 1.0
    if column.type == "BOOL":
        return False
    if column.type == "DATE":
        return row.ts.date()
    return row.ts


def _write(view: str, rows: list[Row]) -> None:
    table = VIEW_TABLES[view]
    records = []
    for i, r in enumerate(rows):
        rec = {c.name: _default(c, r) for c in table.columns}
        rec.update(r.values)
        rec.update(player_lookup=r.player, event_timestamp=r.ts, created_at=r.created)
        rec["game_id"] = r.game if view in BY_GAME else f"{view}-{i}"
        if "snapshot_at" in rec:
            rec["snapshot_at"] = r.ts
        records.append(rec)
    if records:
        storage.write_partitions(table, conform(table, pd.DataFrame(records), source="test_pit_property"))


# --- brute force ----------------------------------------------------------------------------


def expected_row(view: str, rows: list[Row], player: str, game: str, t: pd.Timestamp) -> Row | None:
    ttl = FEATURE_VIEWS[view].ttl
    keyed_by_game = view in BY_GAME
    known = [
        r for r in rows
        if r.player == player and (not keyed_by_game or r.game == game)
        and r.ts <= t and r.created <= t and r.ts >= t - ttl
    ]
    return max(known, key=lambda r: (r.ts, r.created), default=None)


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def same(got, want) -> bool:
    if _missing(want) or _missing(got):
        return _missing(want) and _missing(got)
    if isinstance(want, bool):
        return bool(got) == want
    return float(got) == float(want)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=history, requests=st.lists(request_spec, min_size=1, max_size=8), seed=st.integers(0, 2**16))
def test_every_value_is_what_was_known_at_the_time_asked(store, history, requests, seed):
    rng = np.random.default_rng(seed)
    serial = iter(range(10**6))
    shutil.rmtree(paths.warehouse_dir(), ignore_errors=True)
    rows = {view: _rows(view, specs, rng, serial) for view, specs in history.items()}
    # a row dated far in the future is never visible to any request
    rows["upcoming_player_game_context"].append(Row(
        "ann", "G1", BASE + pd.Timedelta(days=30), BASE,
        {f.name: _value(rng, f.dtype, False) for f in catalog.features_of_view("upcoming_player_game_context")},
    ))
    for view, view_rows in rows.items():
        _write(view, view_rows)

    players = (*PLAYERS, "nobody")
    entity = pd.DataFrame({
        "player_lookup": [players[p] for p, _, _, _ in requests],
        "game_id": [GAMES[g] for _, g, _, _ in requests],
        "event_timestamp": [BASE + pd.Timedelta(minutes=m) for _, _, m, _ in requests],
        "line_offered": pd.array([line for *_, line in requests], dtype="float64"),
        "request_id": range(len(requests)),
    })
    got = store.get_historical_features(
        entity_df=entity, features=store.get_feature_service("player_points_v1"), filter_by_created_timestamp=True,
    ).to_df()

    assert len(got) == len(entity)
    assert got["request_id"].tolist() == list(range(len(entity))), "rows come back in request order"
    for i, req in entity.iterrows():
        t = req["event_timestamp"]
        want: dict[str, object] = {}
        for view in VIEW_TABLES:
            best = expected_row(view, rows[view], req["player_lookup"], req["game_id"], t)
            for f in catalog.features_of_view(view):
                want[f.name] = None if best is None else best.values[f.name]
        a, s = want["avg_usage_rate_last_7_games"], want["season_usage_rate"]
        served_spike = None if _missing(a) or _missing(s) or s == 0 else a / s
        p5, line = want["points_avg_last_5"], req["line_offered"]
        served = {**want, "usage_spike_score": served_spike,
                  "points_avg_last_5_minus_line": None if _missing(p5) or _missing(line) else p5 - line}
        for name in catalog.PLAYER_POINTS_V1:
            assert same(got.at[i, name], served[name]), (
                f"request {i} ({req['player_lookup']}, {req['game_id']}, {t}): {name} = {got.at[i, name]!r}, "
                f"expected {served[name]!r}"
            )
