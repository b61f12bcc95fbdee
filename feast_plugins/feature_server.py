"""``feast serve``'s ``/get-online-features``: the same JSON as Feast's, encoded once, and 4xx for bad requests.

Feast's endpoint converts the response proto to Python value by value
(``feature_server_utils.convert_response_to_dict``) and encodes it with ``json``: most
of a 450-player slate's time. Ours takes the same request (Feast's own
``GetOnlineFeaturesRequest`` model and ``_get_features``, so permissions apply), calls
the same ``store.get_online_features``, and writes the same JSON document from the
Python values our read path already holds (``NbaOnlineResponse``), with orjson.
``tests/test_feature_server.py`` holds the two documents equal.

A request naming an unknown service or feature, without a join key, or with a malformed
``request_time`` gets a 4xx whose body names the field and what was expected; the
server goes on serving. Every other endpoint (``/push``, ``/health``...) is Feast's.

Installed by :func:`install`, called where Feast first loads our code under ``feast
serve`` (``feast_plugins/__init__.py``): it wraps ``feast.feature_server.get_app`` so that
each app Feast builds gets this route in front of its own.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Dict, List

from fastapi import Request  # at module level: FastAPI resolves the handler's annotations here
from feast.errors import FeastError, FeastObjectNotFoundException, FeatureServiceNotFoundException
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus

_STATUS_NAMES = {v: k for k, v in FieldStatus.items()}
_EPOCH = "1970-01-01T00:00:00Z"
ROUTE = "/get-online-features"


def install() -> None:
    """Make every app ``feast.feature_server.get_app`` builds serve our route first (idempotent)."""
    import feast.feature_server as feast_server

    if getattr(feast_server.get_app, "_nbafs", False):
        return
    feast_get_app = feast_server.get_app

    def get_app(store, *args, **kwargs):
        app = feast_get_app(store, *args, **kwargs)
        add_route(app, store)
        return app

    get_app._nbafs = True  # type: ignore[attr-defined]
    feast_server.get_app = get_app


def add_route(app, store) -> None:
    """Put our ``/get-online-features`` before Feast's on ``app``."""
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import Response

    async def get_online_features(request: Request) -> Response:
        body = await request.body()
        features = None
        try:
            features, read = await _parse(body, store)
            response = await run_in_threadpool(lambda: store.get_online_features(features=features, **read))
            content = encode(response)
        except HttpError as exc:
            return _error(exc.status, exc.field, str(exc))
        except FeastError as exc:  # our RequestError (400) and Feast's own
            if isinstance(features, list):
                try:
                    _check_refs(features, store)  # an unknown view or feature: a 404 that names it
                except HttpError as bad_ref:
                    return _error(bad_ref.status, bad_ref.field, str(bad_ref))
            if isinstance(exc, FeastObjectNotFoundException):
                return _error(404, "features", str(exc))
            return _error(exc.http_status_code(), _field_of(str(exc)), str(exc))
        return Response(content=content, media_type="application/json")

    app.add_api_route(ROUTE, get_online_features, methods=["POST"], include_in_schema=True,
                      summary="Online features (nba-feature-store: staleness rule, declared order)")
    routes = app.router.routes
    routes.insert(0, routes.pop())


class HttpError(Exception):
    def __init__(self, status: int, field: str, message: str):
        super().__init__(message)
        self.status, self.field = status, field


async def _parse(body: bytes, store):
    import orjson
    from pydantic import ValidationError

    from feast.feature_server import GetOnlineFeaturesRequest, _get_features
    from feast.permissions.action import AuthzedAction
    from feast.permissions.security_manager import assert_permissions

    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HttpError(400, "body", f"the body is not JSON ({exc}); expected "
                        '{"feature_service": NAME, "entities": {KEY: [values...]}}') from None
    try:
        request = GetOnlineFeaturesRequest(**payload) if isinstance(payload, dict) else None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise HttpError(422, field, f"{field}: {first.get('msg')}; expected \"entities\": an object of "
                        "lists (one value per row), \"feature_service\": a name or \"features\": "
                        "[\"view:feature\", ...]") from None
    if request is None:
        raise HttpError(400, "body", "the body must be a JSON object")
    if bool(request.feature_service) == bool(request.features):
        raise HttpError(400, "feature_service", "give either \"feature_service\" (a name) or \"features\" "
                        "([\"view:feature\", ...]), not both and not neither")
    try:
        if request.feature_service:
            features = service_of(store, request.feature_service)
            assert_permissions(resource=features, actions=[AuthzedAction.READ_ONLINE])  # as Feast's endpoint
        else:
            features = await _get_features(request, store)
    except FeatureServiceNotFoundException:
        names = sorted(s.name for s in store.registry.list_feature_services(store.project, allow_cache=True))
        raise HttpError(404, "feature_service", f"feature_service: no service {request.feature_service!r}; "
                        f"this store serves {names}") from None
    read = dict(entity_rows=request.entities, full_feature_names=request.full_feature_names,
                include_feature_view_version_metadata=request.include_feature_view_version_metadata)
    return features, read


_SERVICES: Dict[tuple, tuple] = {}  # (store, service name) -> (registry version, FeatureService)


def service_of(store, name: str):
    """``store.get_feature_service(name, allow_cache=True)``, kept while the cached registry is the same.

    Feast rebuilds the service object from its proto on every call: about 3 ms, more than a
    single player's read. The registry's cached proto (refreshed every registry ttl) is the version.
    """
    registry = store.registry
    version = (id(getattr(registry, "cached_registry_proto", None)), getattr(registry, "cached_registry_proto_created", None))
    hit = _SERVICES.get((id(store), name))
    if hit is not None and version[1] is not None and hit[0] == version:
        return hit[1]
    service = store.get_feature_service(name, allow_cache=True)
    _SERVICES[(id(store), name)] = (version, service)
    return service


def _check_refs(refs: List[str], store) -> None:
    """Every ``view:feature`` names a view of the registry and one of its features."""
    registry, project = store.registry, store.project
    views = {v.name: v for v in registry.list_feature_views(project, allow_cache=True)}
    views.update({v.name: v for v in registry.list_on_demand_feature_views(project, allow_cache=True)})
    for ref in refs:
        view_name, sep, feature = ref.partition(":")
        if not sep or not view_name or not feature:
            raise HttpError(400, "features", f"features: {ref!r} is not \"view:feature\"")
        view = views.get(view_name)
        if view is None:
            raise HttpError(404, "features", f"features: no feature view {view_name!r} (in {ref!r}); "
                            f"views: {sorted(views)}")
        names = [f.name for f in view.features]
        if feature not in names:
            raise HttpError(404, "features", f"features: view {view_name!r} has no feature {feature!r}; "
                            f"its features: {names}")


def _field_of(message: str) -> str:
    head = message.split(":", 1)[0].split("[", 1)[0].strip()
    return head if head and " " not in head else "entities"


def _error(status: int, field: str, message: str):
    import orjson
    from fastapi.responses import Response

    return Response(status_code=status, media_type="application/json",
                    content=orjson.dumps({"error": message, "field": field, "status": status}))


# --- the response document ------------------------------------------------------------------


def encode(response) -> bytes:
    """The JSON bytes of Feast's ``convert_response_to_dict(response.proto)``."""
    import orjson

    return orjson.dumps(response_document(response))


def response_document(response) -> Dict[str, Any]:
    """Feast's ``convert_response_to_dict(response.proto)``, from the Python values at hand when we have them."""
    from feast.feature_server_utils import convert_response_to_dict

    if not hasattr(response, "event_us"):  # not our response: Feast's own conversion
        return convert_response_to_dict(response.proto)
    names = response.names()
    columns = response.python_columns()
    results: List[dict] = []
    status_names: Dict[int, list] = {}  # id(statuses list) -> names: a view's features share one list
    stamps_of: Dict[int, list] = {}
    stamps: Dict[int, str] = {}
    alive = []  # the per-column lists, kept alive so that their ids stay unique in the caches above
    for name in names:
        values = columns[name]
        if not _plain(values):
            values = [_native(v) for v in response.proto.results[names.index(name)].values]
        elif _INF in values or _MINUS_INF in values:
            values = [_finite(v) for v in values]
        status_ints = response.statuses(name)
        alive.append(status_ints)
        key = id(status_ints)
        if key not in status_names:
            status_names[key] = [_STATUS_NAMES.get(s, "INVALID") for s in status_ints]
        event_us = response.event_us(name)
        alive.append(event_us)
        key = id(event_us)
        if key not in stamps_of:
            stamps_of[key] = [_EPOCH if us is None else stamps.get(us) or stamps.setdefault(us, _stamp(us))
                              for us in event_us]
        results.append({"values": values, "statuses": status_names[id(status_ints)],
                        "event_timestamps": stamps_of[id(event_us)]})
    return {"results": results, "metadata": {"feature_names": names}}


_INF, _MINUS_INF = float("inf"), float("-inf")
_PLAIN_TYPES = (float, int, str, bool, type(None))


def _plain(values: list) -> bool:
    return all(type(v) in _PLAIN_TYPES for v in values)


def _native(v):
    from feast.feature_server_utils import _value_to_native

    return _value_to_native(v)


def _finite(v):
    from feast.feature_server_utils import _float_to_native

    return _float_to_native(v) if type(v) is float else v


def _stamp(us: int) -> str:
    """Feast's ``_timestamp_to_str`` of the Timestamp of ``us`` microseconds."""
    from feast.feature_server_utils import _timestamp_to_str
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.FromMicroseconds(us)
    return _timestamp_to_str(ts)
