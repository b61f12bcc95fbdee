"""The first step of an online read: entity rows and request data -> what to read, and the response's first columns.

Feast's ``_prepare_entities_to_read_from_online_store`` resolves the requested features
(cached per registry version), converts every entity and request value to a ``Value``
message and copies them into the response: about a third of a 450-player slate lookup.
``prepare`` does the same with Feast's cached resolution, but when every join key is a
plain ``str`` (STRING) or ``int`` (INT64) and every request value a plain ``float``,
``str`` or ``int`` (or None), it writes those columns as protobuf bytes and keeps
their Python values, and serializes entity keys from the Python values. Any other input
(numpy scalars, protos, entity names instead of join keys, entityless views, other
types) goes through Feast's own function, so the result is always Feast's.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from feast import utils
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus, GetOnlineFeaturesResponse
from feast.value_type import ValueType

from feast_plugins.online_values import (
    NATIVE_CODECS,
    NULL_TIMESTAMP_FRAME,
    frame_column,
    length_delimited,
    python_column,
    serialize_key_column,
    serialize_python_key_column,
    statuses_frame,
)

RESULTS_FIELD = 2  # GetOnlineFeaturesResponse.results


@dataclass
class Request:
    """A resolved online read (the fields of Feast's prepare step, plus Python values)."""

    join_key_values: Dict[str, list]  # join key -> values (Python values if key_types, else ValueProtos)
    key_types: Optional[Dict[str, ValueType]]  # set when join_key_values hold Python values
    grouped_refs: list
    entity_name_to_join_key_map: Dict[str, str]
    requested_odfvs: list
    feature_refs: List[str]
    requested_result_row_names: set
    response: GetOnlineFeaturesResponse  # join keys and request data columns so far
    python_columns: Dict[str, list]  # Python values of the response's columns so far

    def serialize_keys(self, values: Dict[str, list]) -> List[bytes]:
        """Entity keys (Feast's serialization, version 3) of the rows, for one view's join keys."""
        join_keys = list(values)
        if self.key_types is None:
            return serialize_key_column(join_keys, list(values.values()))
        return serialize_python_key_column(join_keys, [self.key_types[k] for k in join_keys], list(values.values()))


def columnar(entity_rows) -> Dict[str, Any]:
    """Row-oriented entity rows as columns, as Feast's OnlineStore.get_online_features does."""
    if not isinstance(entity_rows, list):
        return entity_rows
    columns: Dict[str, List[Any]] = {k: [] for k in entity_rows[0].keys()}
    for entity_row in entity_rows:
        for key, value in entity_row.items():
            try:
                columns[key].append(value)
            except KeyError as e:
                raise ValueError("All entity_rows must have the same keys.") from e
    return columns


def prepare(registry, project: str, features, entity_rows, full_feature_names: bool) -> Request:
    entity_values = columnar(entity_rows)
    return _prepare_plain(registry, project, features, entity_values, full_feature_names) or _prepare_feast(
        registry, project, features, entity_values, full_feature_names
    )


def _prepare_feast(registry, project, features, entity_values, full_feature_names) -> Request:
    (join_key_values, grouped_refs, entity_name_to_join_key_map, requested_odfvs, feature_refs,
     requested_result_row_names, response) = utils._prepare_entities_to_read_from_online_store(
        registry=registry, project=project, features=features, entity_values=entity_values,
        full_feature_names=full_feature_names, native_entity_values=True,
    )
    python_columns = {
        name: python_column(vector.values)
        for name, vector in zip(response.metadata.feature_names.val, response.results)
    }
    return Request(join_key_values, None, grouped_refs, entity_name_to_join_key_map, requested_odfvs,
                   feature_refs, requested_result_row_names, response, python_columns)


def _prepare_plain(registry, project, features, entity_values, full_feature_names) -> Optional[Request]:
    """Feast's prepare step for plain Python inputs; None when Feast's own must run."""
    (feature_refs, requested_odfvs, entity_name_to_join_key_map, entity_type_map, join_keys_set,
     grouped_refs, requested_result_row_names, needed_request_data,
     entityless_case) = utils._get_cached_request_context(registry, project, features, full_feature_names)
    if entityless_case:
        return None
    if not all(isinstance(v, Sequence) for v in entity_values.values()):
        return None  # RepeatedValue protos, or input Feast rejects with its own message
    lists = {k: list(v) for k, v in entity_values.items()}
    if len({len(v) for v in lists.values()}) > 1:
        return None  # Feast raises its own error for unequal columns
    join_key_values: Dict[str, list] = {}
    key_types: Dict[str, ValueType] = {}
    columns: Dict[str, tuple] = {}  # name -> (python values, value type)
    # Join keys first, then request data: the column order of Feast's response.
    ordered = sorted(lists.items(), key=lambda item: item[0] in needed_request_data)
    for name, values in ordered:
        declared = entity_type_map.get(name, ValueType.UNKNOWN)
        if name in needed_request_data:
            value_type = _plain_type(values, declared)
        elif name in join_keys_set:
            value_type = _plain_type(values, declared)
            if value_type not in (ValueType.STRING, ValueType.INT64) or any(v is None for v in values):
                return None
            join_key_values[name] = values
            key_types[name] = value_type
        elif name in entity_name_to_join_key_map:
            return None  # an entity name instead of its join key: Feast warns and maps it
        else:
            continue
        if value_type is None:
            return None
        columns[name] = (values, value_type)
    utils.ensure_request_data_values_exist(
        needed_request_data, {k: v for k, v in lists.items() if k in needed_request_data}
    )

    response = GetOnlineFeaturesResponse(results=[])
    python_columns: Dict[str, list] = {}
    vectors = []
    for name, (values, value_type) in columns.items():
        codec = NATIVE_CODECS[value_type]
        stored = _stored(values, value_type)
        n = len(stored)
        frames = frame_column(codec, stored)
        vectors.append(frames + statuses_frame([FieldStatus.PRESENT] * n) + NULL_TIMESTAMP_FRAME * n)
        response.metadata.feature_names.val.append(name)
        python_columns[name] = stored
    response.MergeFromString(b"".join(length_delimited(RESULTS_FIELD, v) for v in vectors))
    return Request(join_key_values, key_types, [(fv, list(f)) for fv, f in grouped_refs],
                   entity_name_to_join_key_map, requested_odfvs, feature_refs,
                   set(requested_result_row_names) | set(join_key_values), response, python_columns)


_PLAIN = {str: ValueType.STRING, float: ValueType.DOUBLE, int: ValueType.INT64}
_NONE = type(None)


def _plain_type(values: list, declared: ValueType) -> Optional[ValueType]:
    """The value type Feast would convert this column to, if it is plain; else None.

    Plain: every non-None value of one exact Python type (``str``, ``float`` or ``int``;
    ``bool`` is not ``int`` here), matching the declared type, or inferred from the
    values when nothing is declared (Feast infers from the first non-None value; a NaN
    is a float there, and converts to a null Value).
    """
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    if len(kinds) > 1:
        return None
    if not kinds:
        # All None: Feast converts them to null Values, whatever the type.
        return declared if declared in _PLAIN.values() else ValueType.DOUBLE if declared == ValueType.UNKNOWN else None
    inferred = _PLAIN.get(kinds.pop())
    if inferred is None:
        return None
    if declared == ValueType.UNKNOWN or declared == inferred:
        return inferred
    return None


def _stored(values: list, value_type: ValueType) -> list:
    """Plain values as the codec stores them: NaN is NULL (None), as in Feast."""
    if value_type == ValueType.DOUBLE:
        return [None if v != v else v for v in values]  # None != None is False: stays None
    return values
