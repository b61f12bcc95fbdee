"""``feast serve`` on our stores (SQLite locally, Redis on the stand-ins in prod): the staleness rule over HTTP, Feast's document, 4xx for bad requests.

What these tests protect (a real ``feast serve`` on a store materialized up to a past date):
- values older than their ttl at the request's time come back NULL with OUTSIDE_MAX_AGE;
  values within it PRESENT and equal to ``get_historical_features`` at the same time;
- a request without ``request_time`` is judged at the wall clock;
- the features come in the service's declared order;
- the JSON document is the one Feast's own endpoint would write for the same response;
- an unknown service or feature, a missing join key or a malformed request time is a 4xx
  naming the field, and the server goes on serving.
"""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from feature_repo.catalog import PLAYER_POINTS_V1
from nbafs.timeline import noon_eastern
from tests import league
from tests.serve_support import feast_serve, post

DAY = dt.date(2025, 11, 20)  # a game day of the league; the store is materialized up to its noon
SERVICE = "player_points_v1"


@pytest.fixture(scope="module", params=["local", pytest.param("prod", marks=pytest.mark.prod)])
def served(request, tmp_path_factory):
    """A league materialized up to noon of DAY and `feast serve` on it: SQLite locally, Redis in prod."""
    from feast_plugins import feature_log
    from nbafs import paths
    from nbafs.profile import feature_store
    from serving.online import slate_players

    home = tmp_path_factory.mktemp(f"served-{request.param}")
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "prod":
            from tests.stack_support import prod_environment

            prod_environment(request.getfixturevalue("stack"), home, mp)
        else:
            league.use(mp, {paths.DATA_DIR_ENV: str(home)})
        league.build()
        store = feature_store()
        store.materialize(dt.datetime(2025, 10, 1, tzinfo=dt.timezone.utc), noon_eastern(DAY))
        players = slate_players(DAY)
        with feast_serve(home / "serve.log") as url:
            yield {"url": url, "store": store, "players": players}
        feature_log.flush()  # this process's reads, while the module's environment is set


def _body(players: pd.DataFrame, at: dt.datetime | None, **extra) -> dict:
    entities = {"player_lookup": players["player_lookup"].tolist(), "game_id": players["game_id"].tolist(),
                "line_offered": [21.5] * len(players)}
    if at is not None:
        entities["request_time"] = [at.isoformat()]
    return {"feature_service": SERVICE, "entities": entities, **extra}


def _columns(document: dict) -> dict:
    names = document["metadata"]["feature_names"]
    return {n: r for n, r in zip(names, document["results"])}


def _historical(store, players: pd.DataFrame, at: dt.datetime) -> pd.DataFrame:
    entity_df = pd.DataFrame({"player_lookup": players["player_lookup"], "game_id": players["game_id"],
                              "event_timestamp": at, "line_offered": 21.5})
    frame = store.get_historical_features(entity_df=entity_df, features=store.get_feature_service(SERVICE)).to_df()
    return frame.set_index("player_lookup")


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or pd.isna(b)
    return b is not None and not pd.isna(b) and (a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a)))


def test_within_ttl_present_and_equal_to_historical_retrieval(served):
    at = noon_eastern(DAY)
    status, document = post(served["url"], "/get-online-features", _body(served["players"], at))
    assert status == 200, document
    columns = _columns(document)
    assert list(columns) == ["player_lookup", "game_id", *PLAYER_POINTS_V1]  # declared order
    historical = _historical(served["store"], served["players"], at)
    present = 0
    for name in PLAYER_POINTS_V1:
        column = columns[name]
        for player, value, st in zip(columns["player_lookup"]["values"], column["values"], column["statuses"]):
            assert _same(value, historical.loc[player, name]), (name, player, value, historical.loc[player, name])
            assert st in ("PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND")
            assert (st == "PRESENT") or value is None, (name, player, st)
            present += st == "PRESENT"
    assert present > len(served["players"]) * 10


def test_older_than_ttl_at_the_request_time_is_missing_outside_max_age(served):
    later = noon_eastern(DAY) + dt.timedelta(days=2)  # context, composites (1 day) and line (18 h) expired
    status, document = post(served["url"], "/get-online-features", _body(served["players"], later))
    assert status == 200, document
    columns = _columns(document)
    for name in ("points_avg_last_5", "season_usage_rate", "usage_spike_score", "points_line"):
        assert set(columns[name]["statuses"]) <= {"OUTSIDE_MAX_AGE", "NOT_FOUND"}, name
        assert "OUTSIDE_MAX_AGE" in columns[name]["statuses"] or name == "points_line"
        assert all(v is None for v in columns[name]["values"]), name


def test_without_a_request_time_the_wall_clock_judges(served):
    status, document = post(served["url"], "/get-online-features", _body(served["players"], None))
    assert status == 200, document
    columns = _columns(document)
    # the league is from 2025; today every view's rows are older than its ttl
    for name in PLAYER_POINTS_V1:
        assert set(columns[name]["statuses"]) <= {"OUTSIDE_MAX_AGE", "NOT_FOUND"}, name


def test_the_document_is_feasts_own_for_the_same_response(served):
    from feast.feature_server_utils import convert_response_to_dict

    from feast_plugins.feature_server import response_document

    store, players = served["store"], served["players"]
    rows = _body(players, noon_eastern(DAY))["entities"]
    response = store.get_online_features(features=store.get_feature_service(SERVICE), entity_rows=rows)
    assert response_document(response) == convert_response_to_dict(response.proto)


@pytest.mark.parametrize("body, status, field", [
    ({"feature_service": "no_such_service", "entities": {"player_lookup": ["x"]}}, 404, "feature_service"),
    ({"features": ["player_game_summary:no_such_feature"], "entities": {"player_lookup": ["x"]}}, 404, "features"),
    ({"features": ["no_such_view:points"], "entities": {"player_lookup": ["x"]}}, 404, "features"),
    ({"feature_service": SERVICE, "entities": {"player_lookup": ["x"], "line_offered": [1.0]}}, 400, "entities"),
    ({"feature_service": SERVICE, "entities": {"player_lookup": ["x"], "game_id": ["g"], "line_offered": [1.0],
                                               "request_time": ["last tuesday"]}}, 400, "request_time"),
    ({"feature_service": SERVICE}, 422, "entities"),
])
def test_a_bad_request_is_a_4xx_naming_the_field_and_the_server_goes_on(served, body, status, field):
    got, answer = post(served["url"], "/get-online-features", body)
    assert got == status, answer
    assert answer["field"] == field, answer
    if field == "entities" and status == 400:
        assert "game_id" in answer["error"]
    ok, _ = post(served["url"], "/get-online-features", _body(served["players"].head(3), noon_eastern(DAY)))
    assert ok == 200
