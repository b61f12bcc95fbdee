"""``get_online_features`` for the SQLite online store: the same response as Feast's, built cheaply.

Feast's generic path (``OnlineStore.get_online_features``) spends a 450-player slate
lookup of the 17-feature service mostly outside the database: it builds one
``EntityKeyProto`` and one ``Value`` message per entity and value, converts the whole
response to Python and back to run each on-demand view, and ``to_df`` converts every
value once more. Here, through the method Feast's provider calls on the online store:

1. The request is resolved with Feast's own cached resolution (feature refs, views, join
   keys, request data); plain Python entity rows and request data are written straight
   into the response (``online_request.py``; anything else goes through Feast's own
   ``_prepare_entities_to_read_from_online_store``).
2. The distinct entity keys are serialized once per set of join keys, and every feature
   view keyed by them is read in one query that joins the keys to each view's primary
   key (``NbaSqliteOnlineStore.read_views``).
3. Each result ``FeatureVector`` (values, statuses, event timestamps) is written as
   protobuf wire bytes and parsed by upb in one call (``online_values.py``).
4. On-demand views get the same inputs Feast gives them (the response's Python values
   minus other views' features) and run through Feast's ``transform_dict`` /
   ``transform_arrow``; their outputs are added as Feast adds them.
5. The returned ``NbaOnlineResponse`` is a Feast ``OnlineResponse`` over that proto;
   its ``to_dict``/``to_df`` reuse the Python values read in step 2 instead of
   decoding them again.

Two things differ from Feast, on purpose: every value is judged by the staleness rule
(``staleness.py``: outside its view's window at the request time it is NULL with status
OUTSIDE_MAX_AGE; stock Feast serves it as PRESENT), and features come in the declared
order (a service's ``order`` tag, else the order of the refs asked for), whatever the
hash seed. Otherwise the proto is the one Feast's generic path builds over the same
store (``tests/test_online_store.py`` compares them value by value, statuses and
timestamps included). Requests Feast's generic path would need (version metadata,
``precompute_online``, on-demand views written to the online store or aggregated) are
refused with a ``RequestError`` rather than served without the rule.
"""
from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import pyarrow as pa
from feast import utils
from feast.errors import FeastObjectNotFoundException, RequestDataNotFoundInEntityRowsException
from feast.feature_service import FeatureService
from feast.online_response import TIMESTAMP_POSTFIX, OnlineResponse, _convert_uuids_for_arrow
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus
from feast.type_map import feast_value_type_to_python_type, python_values_to_proto_values
from feast.types import ComplexFeastType, PrimitiveFeastType
from feast.value_type import ValueType

from feast_plugins import declared_order, online_request, staleness
from feast_plugins.staleness import RequestError
from feast_plugins.online_values import (
    NATIVE_CODECS,
    NULL_TIMESTAMP_FRAME,
    codec_for,
    frame_column,
    length_delimited,
    statuses_frame,
    timestamp_frame,
)

if TYPE_CHECKING:
    from feast_plugins.online_store import NbaSqliteOnlineStore

RESULTS_FIELD = 2  # GetOnlineFeaturesResponse.results
_PRESENT, _NOT_FOUND, _OUTSIDE_MAX_AGE = FieldStatus.PRESENT, FieldStatus.NOT_FOUND, FieldStatus.OUTSIDE_MAX_AGE


class NbaOnlineResponse(OnlineResponse):
    """Feast's OnlineResponse, with the Python values, statuses and event times of its columns at hand.

    ``to_dict``/``to_df`` and ``feast serve``'s document are built from those; the
    ``proto`` (Feast's ``GetOnlineFeaturesResponse``, the same message either way) is
    assembled from wire bytes the first time it is asked for. Treat it as read-only.
    """

    def __init__(self, names: List[str], build_proto, feature_types, python_columns: Dict[str, list],
                 timestamp_seconds: Dict[str, list], statuses: Dict[str, list], event_us: Dict[str, list]):
        self._names = names
        self._build_proto = build_proto
        self._proto = None
        self._feature_types = feature_types or {}
        self._python_columns = python_columns
        self._timestamp_seconds = timestamp_seconds
        self._statuses = statuses
        self._event_us = event_us  # feature -> event time (µs, None when absent) per row

    @property
    def proto(self):
        if self._proto is None:
            self._proto = self._build_proto()
        return self._proto

    @proto.setter
    def proto(self, value):
        self._proto = value

    def names(self) -> List[str]:
        """The response's column names, in order (join keys, then features in declared order)."""
        return list(self._names)

    def python_columns(self) -> Dict[str, list]:
        """Name -> Python values of every column of the response (do not mutate)."""
        return {name: self._python_columns[name] for name in self._names}

    def statuses(self, name: str) -> list:
        """FieldStatus per row of one column (PRESENT for join keys)."""
        found = self._statuses.get(name)
        if found is None:
            found = [_PRESENT] * len(self._python_columns[name])
        return found

    def event_us(self, name: str) -> list:
        """Event time per row of one column, in µs since the epoch (None: none, as for join keys)."""
        found = self._event_us.get(name)
        return [None] * len(self._python_columns[name]) if found is None else found

    def to_dict(self, include_event_timestamps: bool = False) -> Dict[str, Any]:
        response: Dict[str, List[Any]] = {}
        for name in self._names:
            column = self._python_columns[name]
            response[name] = list(column)
            if include_event_timestamps:
                seconds = self._timestamp_seconds.get(name)
                response[name + TIMESTAMP_POSTFIX] = [0] * len(column) if seconds is None else list(seconds)
        return response


def get_online_features(
    store,
    config,
    features,
    entity_rows,
    registry,
    project: str,
    full_feature_names: bool,
    include_feature_view_version_metadata: bool,
) -> NbaOnlineResponse:
    """Feast's online response for this request, every value judged by the staleness rule."""
    if include_feature_view_version_metadata:
        raise RequestError(
            "include_feature_view_version_metadata: not served by this store (no view here is versioned); "
            "leave it false"
        )
    if config.entity_key_serialization_version != 3:
        raise RequestError(
            f"entity_key_serialization_version {config.entity_key_serialization_version} in the yaml: "
            f"this store serves version 3; set it to 3"
        )
    if isinstance(features, FeatureService) and getattr(features, "precompute_online", False):
        raise RequestError(f"feature service {features.name!r}: precompute_online is not supported here")
    entity_values = dict(online_request.columnar(entity_rows))  # never mutate the caller's rows
    rows = _row_count(entity_values)
    request_us = staleness.pop_request_times(entity_values, rows)
    try:
        request = online_request.prepare(registry, project, features, entity_values, full_feature_names)
    except RequestDataNotFoundInEntityRowsException as exc:
        raise RequestError(f"entities: {exc}") from None
    except (FeastObjectNotFoundException, ValueError, KeyError) as exc:  # an unknown view, or feature of a view
        raise RequestError(f"features: {exc.args[0] if isinstance(exc, KeyError) and exc.args else exc}") from None
    for odfv in request.requested_odfvs:
        if odfv.write_to_online_store or odfv.aggregations or odfv.mode not in ("python", "pandas"):
            raise RequestError(
                f"on-demand view {odfv.name!r}: written to the online store, aggregated or in mode "
                f"{odfv.mode!r}; this store computes python and pandas on-demand views at request time only"
            )
    store._check_versioned_read_support(request.grouped_refs)
    if rows is None:
        request_us = request_us or [time.time_ns() // 1000]

    response = request.response
    python_columns = request.python_columns
    timestamp_seconds: Dict[str, list] = {}
    statuses: Dict[str, list] = {}  # feature -> FieldStatus per row
    event_us: Dict[str, list] = {}  # feature -> event time in µs (None: nothing stored) per row
    view_statuses: Dict[str, list] = {}  # view -> FieldStatus per row
    names: List[str] = []
    vectors: List[Any] = []  # per feature: a function returning its FeatureVector's wire bytes
    for group in _group_by_keys(request):
        _read_group(store, config, group, full_feature_names, request_us, names, vectors,
                    python_columns, timestamp_seconds, statuses, view_statuses, event_us)

    feature_types = store._build_feature_types(request.grouped_refs)
    if request.requested_odfvs:
        entity_names = list(response.metadata.feature_names.val)
        _apply_on_demand_views(entity_names, names, vectors, request.feature_refs, request.requested_odfvs,
                               full_feature_names, python_columns, timestamp_seconds, statuses, view_statuses)
    order = declared_order.ranks(features, request.feature_refs, full_feature_names)
    ranked = sorted(range(len(names)), key=lambda i: order.get(names[i], len(order)))
    wanted = request.requested_result_row_names  # Feast drops request data and unrequested inputs
    entity_names = list(response.metadata.feature_names.val)
    kept = [i for i in ranked if names[i] in wanted]
    final_names = [n for n in entity_names if n in wanted] + [names[i] for i in kept]

    def build_proto():
        proto = response  # the join keys and request data, then the features (bytes, parsed once)
        proto.metadata.feature_names.val.extend(names[i] for i in ranked)
        proto.MergeFromString(b"".join(length_delimited(RESULTS_FIELD, vectors[i]()) for i in ranked))
        utils._drop_unneeded_columns(proto, wanted)
        return proto

    result = NbaOnlineResponse(final_names, build_proto, feature_types, python_columns, timestamp_seconds,
                               statuses, event_us)
    if isinstance(features, FeatureService) and features.logging_config is not None:
        from feast_plugins import feature_log

        feature_log.record(config, registry, project, features, result, request_us)
    return result


def _row_count(entity_values: dict) -> Optional[int]:
    for name, values in entity_values.items():
        if name != staleness.REQUEST_TIME and hasattr(values, "__len__"):
            return len(values)
    return None


class _LazyFrames:
    """A view's status and event-time frames (wire bytes), built once and only if the proto is asked for."""

    def __init__(self, event_us: list, row_status: list):
        self._event_us, self._row_status = event_us, row_status
        self._statuses: Optional[bytes] = None
        self._timestamps: Optional[bytes] = None

    def statuses(self) -> bytes:
        if self._statuses is None:
            self._statuses = statuses_frame(self._row_status)
        return self._statuses

    def timestamps(self) -> bytes:
        if self._timestamps is None:
            frames_of: Dict[int, bytes] = {}
            self._timestamps = b"".join([
                NULL_TIMESTAMP_FRAME if us is None
                else (frames_of.get(us) or frames_of.setdefault(us, timestamp_frame(us)))
                for us in self._event_us
            ])
        return self._timestamps


class _KeyGroup:
    """Feature views read with the same entity keys (e.g. every view keyed by player)."""

    def __init__(self, keys: List[bytes]):
        self.keys = keys
        self.views: List[tuple] = []  # (feature view, requested feature names)


def _group_by_keys(request: online_request.Request) -> List[_KeyGroup]:
    """Serialize each view's entity keys (once per distinct set of key columns) and group views."""
    join_key_values = request.join_key_values
    entity_name_to_join_key_map = request.entity_name_to_join_key_map
    groups: Dict[tuple, _KeyGroup] = {}
    for table, requested in request.grouped_refs:
        values = utils._get_table_entity_values(table, entity_name_to_join_key_map, join_key_values)
        table_keys = [entity_name_to_join_key_map[e] for e in table.entities if e in entity_name_to_join_key_map]
        absent = [k for k in table_keys if k not in values and k != "__dummy_id"]
        if absent:
            # Stock Feast reads such a view with the keys it has and returns NULL for it.
            raise RequestError(
                f"entities: no {', '.join(repr(k) for k in absent)}; feature view "
                f"{table.projection.name_to_use()!r} is keyed by {table_keys}: add one value per row "
                f"(given: {sorted(join_key_values)})"
            )
        # Same join keys over the same value lists: the same serialized keys.
        group_key = tuple((k, id(v)) for k, v in values.items())
        if group_key not in groups:
            groups[group_key] = _KeyGroup(request.serialize_keys(values))
        groups[group_key].views.append((table, requested))
    return list(groups.values())


def _read_group(store, config, group: _KeyGroup, full_feature_names: bool, request_us: List[int],
                names: List[str], vectors: List[bytes], python_columns: Dict[str, list],
                timestamp_seconds: Dict[str, list], statuses: Dict[str, list],
                view_statuses: Dict[str, list], event_us_of: Dict[str, list]) -> None:
    """Read a group of views in one query; append their FeatureVectors (as bytes) and names.

    A value outside its view's window at the row's request time is NULL, OUTSIDE_MAX_AGE.
    """
    keys = group.keys
    # Distinct keys in order of first appearance; output row i shows distinct entity slot[i].
    position: Dict[bytes, int] = {}
    slot = [position.setdefault(k, len(position)) for k in keys]
    distinct = list(position)
    rows = store.read_views(config, group.views, distinct)
    columns = list(zip(*rows)) if rows else []
    identity = len(distinct) == len(keys)

    def per_row(per_entity) -> list:
        return list(per_entity) if identity else [per_entity[s] for s in slot]

    offset = 0
    for table, requested in group.views:
        event_us = per_row(columns[offset]) if columns else []
        row_status = staleness.judge(event_us, request_us, staleness.ttl_micros(table))
        served = [st == _PRESENT for st in row_status]
        all_served = all(served)
        seconds = [0 if us is None else us // 1_000_000 for us in event_us]
        frames = _LazyFrames(event_us, row_status)
        codecs = {f.name: codec_for(f.dtype.to_value_type()) for f in table.features}
        view_name = table.projection.name_to_use()
        view_statuses[view_name] = row_status
        for j, feature in enumerate(requested, start=offset + 1):
            codec = codecs[feature]
            stored = per_row(columns[j]) if columns else []
            if not all_served:
                stored = [v if ok else None for v, ok in zip(stored, served)]
            name = f"{view_name}__{feature}" if full_feature_names else feature
            names.append(name)
            vectors.append(lambda codec=codec, stored=stored, frames=frames:
                           frame_column(codec, stored) + frames.statuses() + frames.timestamps())
            if not codec.python_is_stored:
                to_python = codec.to_python
                stored = [None if v is None else to_python(v) for v in stored]
            python_columns[name] = stored
            timestamp_seconds[name] = seconds
            statuses[name] = row_status
            event_us_of[name] = event_us
        offset += 1 + len(requested)


def _apply_on_demand_views(entity_names: List[str], names: List[str], vectors: List[bytes], feature_refs,
                           requested_odfvs, full_feature_names: bool, python_columns: Dict[str, list],
                           timestamp_seconds: Dict[str, list], statuses: Dict[str, list],
                           view_statuses: Dict[str, list]) -> None:
    """Feast's ``_augment_response_with_on_demand_transforms``, fed with Python values at hand.

    Same inputs (the response's columns minus features of views the on-demand view
    does not declare), same Feast transform calls, same conversion of the outputs. An
    output is OUTSIDE_MAX_AGE where one of its source views' values was (it is computed
    from a NULL there), else PRESENT, as in Feast.
    """
    requested_odfv_map = {
        (odfv.projection.name_alias if odfv.projection else None) or odfv.name: odfv
        for odfv in requested_odfvs
    }
    odfv_feature_refs = defaultdict(list)
    for feature_ref in feature_refs:
        view_name, _, feature_name = utils._parse_feature_ref(feature_ref)
        if view_name in requested_odfv_map:
            odfv_feature_refs[view_name].append(
                f"{requested_odfv_map[view_name].projection.name_to_use()}__{feature_name}"
                if full_feature_names else feature_name
            )

    def current_columns() -> Dict[str, list]:
        return {name: python_columns[name] for name in [*entity_names, *names]}

    initial_dict: Optional[Dict[str, list]] = None
    initial_arrow: Optional[pa.Table] = None
    for odfv_name, wanted in odfv_feature_refs.items():
        odfv = requested_odfv_map[odfv_name]
        undeclared = _undeclared_columns(odfv, feature_refs, requested_odfv_map, requested_odfvs)
        if odfv.mode == "python":
            if initial_dict is None:
                initial_dict = {k: list(v) for k, v in current_columns().items()}
            outputs: Any = odfv.transform_dict({k: v for k, v in initial_dict.items() if k not in undeclared})
            produced = list(outputs)
        else:
            if initial_arrow is None:
                initial_arrow = pa.Table.from_pydict(_convert_uuids_for_arrow(current_columns()))
            inputs = initial_arrow.select([c for c in initial_arrow.column_names if c not in undeclared])
            outputs = odfv.transform_arrow(inputs, full_feature_names)
            produced = outputs.column_names
        sources = [view_statuses[p.name_to_use()] for p in odfv.source_feature_view_projections.values()
                   if p.name_to_use() in view_statuses]
        schema_types = {f.name: f.dtype for f in odfv.schema}
        for feature in [f for f in produced if f in wanted]:
            value_type = _value_type(schema_types.get(feature))
            if odfv.mode == "python":
                raw = outputs[feature]
                raw = raw if isinstance(raw, list) else [raw]
            else:
                raw = outputs[feature]
            stored = _stored_outputs(raw, value_type, odfv.mode)
            n = len(stored)
            row_status = [_OUTSIDE_MAX_AGE if _OUTSIDE_MAX_AGE in per_source else _PRESENT
                          for per_source in zip(*sources)] if sources else [_PRESENT] * n
            stored = [v if st == _PRESENT else None for v, st in zip(stored, row_status)]
            codec = codec_for(value_type)
            names.append(feature)
            vectors.append(lambda codec=codec, stored=stored, row_status=row_status, n=n:
                           frame_column(codec, stored) + statuses_frame(row_status) + NULL_TIMESTAMP_FRAME * n)
            python_columns[feature] = [None if v is None else codec.to_python(v) for v in stored]
            timestamp_seconds[feature] = [0] * n
            statuses[feature] = row_status


def _undeclared_columns(odfv, feature_refs, requested_odfv_map, requested_odfvs) -> set:
    """Columns an on-demand view must not see: features of views it does not declare (#6158)."""
    declared = {p.name for p in odfv.source_feature_view_projections.values()}
    undeclared: set = set()
    for feature_ref in feature_refs:
        ref_view, _, ref_feature = utils._parse_feature_ref(feature_ref)
        if ref_view in requested_odfv_map:
            continue
        if ref_view not in declared:
            undeclared.add(ref_feature)
            undeclared.add(f"{ref_view}__{ref_feature}")
    for other in requested_odfvs:
        for projection in other.source_feature_view_projections.values():
            if projection.name in declared:
                continue
            for feature in projection.features:
                undeclared.add(feature.name)
                undeclared.add(f"{projection.name}__{feature.name}")
    return undeclared


def _value_type(dtype) -> ValueType:
    if dtype is None:
        return ValueType.UNKNOWN
    if isinstance(dtype, (ComplexFeastType, PrimitiveFeastType)):
        return dtype.to_value_type()
    if isinstance(dtype, ValueType):
        return dtype
    raise TypeError(f"Unexpected type for feature_type: {type(dtype)}")


def _stored_outputs(raw, value_type: ValueType, mode: str) -> list:
    """On-demand outputs as stored values, converted exactly as Feast converts them."""
    codec = codec_for(value_type)
    if value_type in NATIVE_CODECS:
        values = raw if mode == "python" else raw.to_pylist()
        return [codec.from_python(v) for v in values]
    # Anything else: Feast's own conversion, value by value kept as serialized protos.
    protos = python_values_to_proto_values(raw if mode == "python" else raw.to_numpy(), value_type)
    return [p.SerializeToString() if p.WhichOneof("val") is not None else None for p in protos]
