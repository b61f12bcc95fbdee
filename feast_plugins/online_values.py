"""How the online store keeps feature values, and how it hands them to Feast cheaply.

The store (``online_store.py``) keeps one SQLite column per feature. A scalar feature
is kept as a plain SQLite value (REAL, INTEGER or TEXT, NULL for a missing value), so
a read gives Python values without any protobuf work. Every other Feast type (lists,
maps, timestamps, UUIDs, ...) is kept as the serialized ``feast.types.Value`` BLOB.

Feast's response is a ``GetOnlineFeaturesResponse`` protobuf. Building it one
``Value`` message at a time costs about 1 µs per value, which is most of a 450-player
slate lookup; so each codec also writes a value directly as protobuf wire bytes
(``frame``), and a whole ``FeatureVector`` is assembled as bytes and parsed once. The
wire format is fixed by protobuf, and ``tests/test_online_store.py`` holds every codec
to the bytes ``upb`` parses into the same message.

Also here: Feast's entity-key serialization (version 3) for a whole column of keys at
once, byte-identical to ``feast.infra.key_encoding_utils.serialize_entity_key``.
"""
from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.protos.feast.types.Value_pb2 import ValueType as ValueTypeProto
from feast.type_map import feast_value_type_to_python_type
from feast.value_type import ValueType

# --- protobuf wire format -------------------------------------------------------------

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def varint(n: int) -> bytes:
    """Protobuf base-128 varint; negative numbers as their 64-bit two's complement."""
    if n < 0:
        n &= 0xFFFFFFFFFFFFFFFF
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def tag(field_number: int, wire_type: int) -> bytes:
    return varint((field_number << 3) | wire_type)


def length_delimited(field_number: int, payload: bytes) -> bytes:
    return tag(field_number, _LEN) + varint(len(payload)) + payload


# FeatureVector { repeated Value values = 1; repeated FieldStatus statuses = 2 (packed);
#                 repeated google.protobuf.Timestamp event_timestamps = 3; }
VALUES_FIELD, STATUSES_FIELD, TIMESTAMPS_FIELD = 1, 2, 3
NULL_VALUE_FRAME = length_delimited(VALUES_FIELD, b"")  # an empty Value: Feast's null
NULL_TIMESTAMP_FRAME = length_delimited(TIMESTAMPS_FIELD, b"")  # Timestamp(): "no timestamp"


def timestamp_frame(micros: int) -> bytes:
    """A ``Timestamp`` (seconds, nanos) from microseconds since the epoch, framed as field 3."""
    seconds, us = divmod(micros, 1_000_000)
    payload = b""
    if seconds:
        payload += b"\x08" + varint(seconds)
    if us:
        payload += b"\x10" + varint(us * 1000)
    return length_delimited(TIMESTAMPS_FIELD, payload)


def statuses_frame(statuses: Sequence[int]) -> bytes:
    """The packed ``statuses`` field; every FieldStatus value is below 128 (one byte)."""
    return length_delimited(STATUSES_FIELD, bytes(statuses))


def _value_field_number(name: str) -> int:
    return ValueProto.DESCRIPTOR.fields_by_name[name].number


# --- codecs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Codec:
    """How one Feast value type is stored in a SQLite column and handed to Feast.

    - ``sqlite_type``: the column's declared type (it sets SQLite's type affinity).
    - ``from_proto(ValueProto) -> stored``: what is written; None for a null value.
      Raises TypeError if the ValueProto holds another type than the feature's.
    - ``to_proto(stored) -> ValueProto``: what Feast's ``online_read`` contract returns.
    - ``frame(stored) -> bytes``: the same value as a framed ``FeatureVector.values``
      entry (wire bytes), for assembling responses without building messages.
    - ``to_python(stored) -> python``: the value Feast's ``OnlineResponse.to_dict``
      gives for it.
    - ``from_python(python) -> stored``: a value computed in Python (an on-demand
      transformation's output) normalized the way Feast's proto round trip would.
    """

    value_type: ValueType
    sqlite_type: str
    from_proto: Callable[[ValueProto], Any]
    to_proto: Callable[[Any], ValueProto]
    frame: Callable[[Any], bytes]
    to_python: Callable[[Any], Any]
    from_python: Callable[[Any], Any]

    @property
    def python_is_stored(self) -> bool:
        """True when the stored value already is the Python value (no conversion needed)."""
        return self.to_python is _identity


def _identity(x: Any) -> Any:
    return x


def _nullable(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` with None and NaN (Python or numpy) mapped to None, as Feast does."""

    def normalize(x: Any) -> Any:
        if x is None:
            return None
        try:
            if x != x:  # NaN
                return None
        except (TypeError, ValueError):
            pass
        return convert(x)

    return normalize


_pack_double = struct.Struct("<d").pack
_pack_float = struct.Struct("<f").pack
_unpack_float = struct.Struct("<f").unpack


def _to_float32(x: Any) -> float:
    """The Python float of the float32 nearest to x (what a ``float_val`` reads back as)."""
    return _unpack_float(_pack_float(float(x)))[0]


def _to_int32(x: Any) -> int:
    n = int(x)
    if not -(2**31) <= n < 2**31:
        raise ValueError(f"{n} does not fit an Int32 feature")
    return n


def _scalar_codec(value_type: ValueType, field: str, sqlite_type: str, wire_type: int,
                  payload: Callable[[Any], bytes], normalize: Callable[[Any], Any],
                  to_python: Callable[[Any], Any] = _identity,
                  fast_frame: Optional[Callable[[bytes, Callable], Callable[[Any], bytes]]] = None) -> Codec:
    """A codec for the scalar ``Value`` field ``field`` (e.g. ``double_val``).

    ``payload(stored)`` is the field's wire payload (after its tag). ``fast_frame``, given
    the generic framing function, returns a faster one with the same output.
    """
    field_tag = tag(_value_field_number(field), wire_type)

    def from_proto(v: ValueProto) -> Any:
        kind = v.WhichOneof("val")
        if kind is None:
            return None
        if kind != field:
            raise TypeError(f"expected {field} for a {value_type.name} feature, got {kind}")
        stored = getattr(v, field)
        if isinstance(stored, float) and math.isnan(stored):
            return None  # SQLite keeps NaN as NULL; Feast turns NaN into a null Value too
        return stored

    def to_proto(stored: Any) -> ValueProto:
        return ValueProto() if stored is None else ValueProto(**{field: to_python(stored)})

    def frame(stored: Any) -> bytes:
        if stored is None:
            return NULL_VALUE_FRAME
        return length_delimited(VALUES_FIELD, field_tag + payload(stored))

    if fast_frame is not None:
        frame = fast_frame(field_tag, frame)
    return Codec(value_type, sqlite_type, from_proto, to_proto, frame, to_python, _nullable(normalize))


def _len_payload(raw: bytes) -> bytes:
    return varint(len(raw)) + raw


def _constant_prefix(pack: Callable[[Any], bytes], size: int):
    """Doubles and floats: a framed value is a constant 3-byte prefix and the packed value."""

    def make(field_tag: bytes, generic: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
        prefix = length_delimited(VALUES_FIELD, field_tag + b"\0" * size)[:3]

        def frame(stored: Any) -> bytes:
            return NULL_VALUE_FRAME if stored is None else prefix + pack(stored)

        return frame

    return make


def _few_distinct(field_tag: bytes, generic: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """Integers and booleans take few distinct values: frame each value once."""
    return functools.lru_cache(maxsize=4096)(generic)


def _short_strings(encode: Callable[[Any], bytes]):
    """Strings and bytes: the common short value (< 126 bytes) has one-byte lengths."""

    def make(field_tag: bytes, generic: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
        values_tag, inner_tag = tag(VALUES_FIELD, _LEN)[0], field_tag[0]

        def frame(stored: Any) -> bytes:
            if stored is None:
                return NULL_VALUE_FRAME
            raw = encode(stored)
            n = len(raw)
            if n < 126:
                return bytes((values_tag, n + 2, inner_tag, n)) + raw
            return generic(stored)

        return frame

    return make


def _utf8(s: str) -> bytes:
    return s.encode("utf-8")


_DOUBLE = _scalar_codec(ValueType.DOUBLE, "double_val", "REAL", _I64, _pack_double, float,
                        fast_frame=_constant_prefix(_pack_double, 8))
_FLOAT = _scalar_codec(ValueType.FLOAT, "float_val", "REAL", _I32, _pack_float, _to_float32,
                       fast_frame=_constant_prefix(_pack_float, 4))
_INT64 = _scalar_codec(ValueType.INT64, "int64_val", "INTEGER", _VARINT, varint, int, fast_frame=_few_distinct)
_INT32 = _scalar_codec(ValueType.INT32, "int32_val", "INTEGER", _VARINT, varint, _to_int32,
                       fast_frame=_few_distinct)
# SQLite has no boolean: stored 0/1, read back as bool.
_BOOL = _scalar_codec(ValueType.BOOL, "bool_val", "INTEGER", _VARINT, lambda b: b"\x01" if b else b"\x00",
                      bool, to_python=bool, fast_frame=_few_distinct)
_STRING = _scalar_codec(ValueType.STRING, "string_val", "TEXT", _LEN, lambda s: _len_payload(_utf8(s)), str,
                        fast_frame=_short_strings(_utf8))
_BYTES = _scalar_codec(ValueType.BYTES, "bytes_val", "BLOB", _LEN, _len_payload, bytes,
                       fast_frame=_short_strings(bytes))

NATIVE_CODECS = {c.value_type: c for c in (_DOUBLE, _FLOAT, _INT64, _INT32, _BOOL, _STRING, _BYTES)}

_DOUBLE_FRAMES = np.dtype([("prefix", "S3"), ("value", "<f8")])  # 11 packed bytes per value
_DOUBLE_PREFIX = _DOUBLE.frame(0.0)[:3]


def frame_column(codec: Codec, stored: Sequence[Any]) -> bytes:
    """The framed ``values`` field entries of a whole column of stored values."""
    if codec is _DOUBLE and len(stored) > 32:
        return _frame_doubles(stored)
    frame = codec.frame
    return b"".join([NULL_VALUE_FRAME if v is None else frame(v) for v in stored])


def _frame_doubles(stored: Sequence[Any]) -> bytes:
    """A double column in a few numpy operations: an 11-byte record per value, 2 bytes per NULL."""
    values = np.array(stored, dtype="float64")  # None -> NaN (SQLite never returns a NaN)
    frames = np.empty(len(values), dtype=_DOUBLE_FRAMES)
    frames["prefix"] = _DOUBLE_PREFIX
    null = np.isnan(values)
    if not null.any():
        frames["value"] = values
        return frames.tobytes()
    frames["value"] = np.where(null, 0.0, values)
    record = frames.view(np.uint8).reshape(len(values), _DOUBLE_FRAMES.itemsize)
    record[null, : len(NULL_VALUE_FRAME)] = np.frombuffer(NULL_VALUE_FRAME, dtype=np.uint8)
    keep = np.ones(record.shape, dtype=bool)
    keep[null, len(NULL_VALUE_FRAME):] = False
    return record[keep].tobytes()  # row-major: the records one after the other


def _proto_codec(value_type: ValueType) -> Codec:
    """Any other type: the serialized ``Value`` itself, converted the way Feast does."""

    def from_proto(v: ValueProto) -> Any:
        return v.SerializeToString() if v.WhichOneof("val") is not None else None

    def to_proto(stored: Any) -> ValueProto:
        return ValueProto() if stored is None else ValueProto.FromString(stored)

    def frame(stored: Any) -> bytes:
        return NULL_VALUE_FRAME if stored is None else length_delimited(VALUES_FIELD, stored)

    def to_python(stored: Any) -> Any:
        if stored is None:
            return None
        return feast_value_type_to_python_type(ValueProto.FromString(stored), value_type)

    def from_python(x: Any) -> Any:
        from feast.type_map import python_values_to_proto_values

        return from_proto(python_values_to_proto_values([x], value_type)[0])

    return Codec(value_type, "BLOB", from_proto, to_proto, frame, to_python, from_python)


def codec_for(value_type: ValueType) -> Codec:
    """The codec of a Feast value type (``field.dtype.to_value_type()``)."""
    return NATIVE_CODECS.get(value_type) or _proto_codec(value_type)


# --- decoding values that arrive as protobuf (join keys, request data) -----------------

_SIMPLE_KINDS = frozenset({"double_val", "float_val", "int32_val", "int64_val", "bool_val",
                           "string_val", "bytes_val"})


def python_column(values: Sequence[ValueProto], value_type: ValueType | None = None) -> list:
    """Python values of a column of ValueProtos, equal to Feast's ``to_dict`` conversion."""
    out = []
    uuid_hint = value_type in (ValueType.UUID, ValueType.TIME_UUID)
    for v in values:
        kind = v.WhichOneof("val")
        if kind is None:
            out.append(None)
        elif kind in _SIMPLE_KINDS and not uuid_hint:
            out.append(getattr(v, kind))
        else:
            out.append(feast_value_type_to_python_type(v, value_type))
    return out


# --- entity keys ----------------------------------------------------------------------

_pack_u32 = struct.Struct("<I").pack
_pack_i32 = struct.Struct("<i").pack
_pack_i64 = struct.Struct("<q").pack

_KEY_ENCODERS: dict[str, tuple[bytes, Callable[[Any], bytes]]] = {
    "string_val": (_pack_u32(ValueTypeProto.STRING), lambda v: v.encode("utf8")),
    "bytes_val": (_pack_u32(ValueTypeProto.BYTES), bytes),
    "int32_val": (_pack_u32(ValueTypeProto.INT32), _pack_i32),
    "int64_val": (_pack_u32(ValueTypeProto.INT64), _pack_i64),
    "unix_timestamp_val": (_pack_u32(ValueTypeProto.UNIX_TIMESTAMP), _pack_i64),
}


def _key_prefix(sorted_keys: Sequence[str]) -> bytes:
    parts = [_pack_u32(len(sorted_keys))]
    for k in sorted_keys:
        encoded = k.encode("utf8")
        parts += [_pack_u32(ValueTypeProto.STRING), _pack_u32(len(encoded)), encoded]
    return b"".join(parts)


def serialize_key_column(join_keys: Sequence[str], columns: Sequence[Sequence[ValueProto]]) -> list[bytes]:
    """Feast's ``serialize_entity_key`` (version 3) for every row of a set of key columns.

    ``columns[i]`` holds the ValueProtos of ``join_keys[i]``, one per row. The result is
    byte-identical to serializing ``EntityKeyProto(join_keys, row values)`` row by row,
    without building an EntityKeyProto per row.
    """
    order = sorted(range(len(join_keys)), key=lambda i: join_keys[i])
    prefix = _key_prefix([join_keys[i] for i in order])
    ordered = [columns[i] for i in order]
    if len(ordered) == 1 and all(v.WhichOneof("val") == "string_val" for v in ordered[0]):
        # The common case (one string join key): prefix + type + length + utf-8.
        head = prefix + _KEY_ENCODERS["string_val"][0]
        out = []
        for v in ordered[0]:
            raw = v.string_val.encode("utf8")
            out.append(head + _pack_u32(len(raw)) + raw)
        return out
    out = []
    for row in zip(*ordered):
        parts = [prefix]
        for v in row:
            kind = v.WhichOneof("val")
            try:
                type_bytes, encode = _KEY_ENCODERS[kind]
            except KeyError:
                raise ValueError(f"Value type not supported for feast feature store: {v}") from None
            raw = encode(getattr(v, kind))
            parts += [type_bytes, _pack_u32(len(raw)), raw]
        out.append(b"".join(parts))
    return out


_PYTHON_KEY_KIND = {
    ValueType.STRING: "string_val", ValueType.BYTES: "bytes_val", ValueType.INT32: "int32_val",
    ValueType.INT64: "int64_val", ValueType.UNIX_TIMESTAMP: "unix_timestamp_val",
}


def serialize_python_key_column(
    join_keys: Sequence[str], value_types: Sequence[ValueType], columns: Sequence[Sequence[Any]]
) -> list[bytes]:
    """Like ``serialize_key_column`` from plain Python values of known Feast types."""
    order = sorted(range(len(join_keys)), key=lambda i: join_keys[i])
    prefix = _key_prefix([join_keys[i] for i in order])
    segments = []  # per join key (sorted): each row's (type, length, bytes)
    for i in order:
        kind = _PYTHON_KEY_KIND.get(value_types[i])
        if kind is None:
            raise ValueError(f"join key {join_keys[i]!r}: type {value_types[i]} cannot be an entity key")
        type_bytes, encode = _KEY_ENCODERS[kind]
        if any(v is None for v in columns[i]):
            raise ValueError(f"an entity key has a NULL value for join key {join_keys[i]!r}")
        if kind == "string_val" and all(type(v) is str for v in columns[i]):
            raws = [v.encode("utf8") for v in columns[i]]
        else:
            raws = [encode(v.item() if hasattr(v, "item") else v) for v in columns[i]]
        segments.append([type_bytes + _pack_u32(len(raw)) + raw for raw in raws])
    if len(segments) == 1:
        return [prefix + segment for segment in segments[0]]
    return [prefix + b"".join(parts) for parts in zip(*segments)]


# --- serialized Value messages (Feast's Redis layout) -> stored values ---------------------

_UNPACK_DOUBLE = struct.Struct("<d").unpack_from
_UNPACK_FLOAT = struct.Struct("<f").unpack_from
# Value's oneof tags of the scalar types (field number << 3 | wire type).
_DOUBLE_TAG, _FLOAT_TAG, _INT64_TAG, _INT32_TAG, _BOOL_TAG, _STRING_TAG = 0x29, 0x35, 0x20, 0x18, 0x38, 0x12


def _read_varint(data: bytes, pos: int) -> int:
    result = shift = 0
    while True:
        b = data[pos]
        result |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return result
        shift += 7


def _signed64(n: int) -> int:
    return n - (1 << 64) if n >= 1 << 63 else n


def value_decoder(codec: Codec) -> Callable[[Optional[bytes]], Any]:
    """``serialized feast.types.Value -> stored value`` of ``codec`` (None for a null or absent value).

    The scalar types are read straight from the wire bytes; anything else goes through
    the protobuf parser and ``codec.from_proto``. Held to the parser by
    tests/test_redis_read.py.
    """
    def by_proto(raw):
        return None if not raw else codec.from_proto(ValueProto.FromString(raw))

    vt = codec.value_type
    if vt == ValueType.DOUBLE:
        def decode(raw):
            if not raw:
                return None
            return _UNPACK_DOUBLE(raw, 1)[0] if raw[0] == _DOUBLE_TAG and len(raw) == 9 else by_proto(raw)
    elif vt == ValueType.FLOAT:
        def decode(raw):
            if not raw:
                return None
            return _UNPACK_FLOAT(raw, 1)[0] if raw[0] == _FLOAT_TAG and len(raw) == 5 else by_proto(raw)
    elif vt in (ValueType.INT64, ValueType.INT32):
        tag = _INT64_TAG if vt == ValueType.INT64 else _INT32_TAG

        def decode(raw):
            if not raw:
                return None
            return _signed64(_read_varint(raw, 1)) if raw[0] == tag else by_proto(raw)
    elif vt == ValueType.BOOL:
        def decode(raw):
            if not raw:
                return None
            return int(raw[1] != 0) if raw[0] == _BOOL_TAG and len(raw) == 2 else by_proto(raw)
    elif vt == ValueType.STRING:
        def decode(raw):
            if not raw:
                return None
            if raw[0] == _STRING_TAG and len(raw) > 1 and raw[1] < 0x80:
                return raw[2:2 + raw[1]].decode("utf-8")
            return by_proto(raw)
    else:
        decode = by_proto
    return decode


def timestamp_micros(raw: Optional[bytes]) -> Optional[int]:
    """A serialized google.protobuf.Timestamp -> microseconds since the epoch (None if absent)."""
    if not raw:
        return None
    seconds = nanos = 0
    pos = 0
    while pos < len(raw):
        tag_byte = raw[pos]
        value = 0
        shift = 0
        pos += 1
        while True:
            b = raw[pos]
            value |= (b & 0x7F) << shift
            pos += 1
            if b < 0x80:
                break
            shift += 7
        if tag_byte == 0x08:
            seconds = _signed64(value)
        elif tag_byte == 0x10:
            nanos = value
    return seconds * 1_000_000 + nanos // 1000
