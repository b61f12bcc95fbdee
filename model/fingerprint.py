"""A fingerprint of a training set: a SHA-256 over its entity rows and feature values.

Two training sets have the same fingerprint exactly when they hold the same entity
rows (player, game, time asked) with the same label and feature values, whatever the
row order. It is saved beside a model, so "which data was this trained on?" has an
answer, and a rebuilt training set can be checked against it.

Canonical form: rows sorted by the key columns; each column hashed as its name, a type
tag and its values: numbers rounded to 12 significant digits (BigQuery and DuckDB may
differ in the last bits of a float, so the same training set built on either engine has
one fingerprint) and hashed as an exact (12-digit integer mantissa, decimal exponent)
pair, every NaN/NULL the same; timestamps as UTC nanoseconds; text as UTF-8 with a
separator, NULL as a marker. Independent of pandas' own hashing, which is not promised
to be stable.
"""
from __future__ import annotations

import hashlib
from typing import Iterable

import numpy as np
import pandas as pd

KEY_COLUMNS = ("event_timestamp", "player_lookup", "game_id")
_NULL = b"\x00NULL\x00"


def fingerprint(df: pd.DataFrame, columns: Iterable[str]) -> str:
    """SHA-256 hex digest of ``df[columns]`` plus the key columns present, in canonical order."""
    columns = list(columns)
    keys = [k for k in KEY_COLUMNS if k in df.columns]
    cols = keys + [c for c in columns if c not in keys]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"cannot fingerprint: columns {missing} are not in the training set")
    frame = df[cols]
    if keys:
        sort_frame = pd.DataFrame({k: _sortable(frame[k]) for k in keys})
        order = np.lexsort([sort_frame[k].to_numpy() for k in reversed(keys)])
        frame = frame.iloc[order]
    h = hashlib.sha256()
    h.update(f"rows={len(frame)}".encode())
    for c in cols:
        tag, payload = _column_bytes(frame[c])
        h.update(b"\x01" + c.encode() + b"\x02" + tag.encode() + b"\x03")
        h.update(payload)
    return h.hexdigest()


def _sortable(col: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        return _utc_ns(col).astype("int64")
    return col.astype(str)


def _utc_ns(col: pd.Series) -> pd.Series:
    ts = pd.to_datetime(col, utc=True)
    return ts.astype("int64")


def _column_bytes(col: pd.Series) -> tuple[str, bytes]:
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = pd.to_datetime(col, utc=True)
        nulls = ts.isna().to_numpy()
        values = ts.astype("int64").to_numpy().copy()
        values[nulls] = np.iinfo(np.int64).min
        return "ts", values.astype("<i8").tobytes()
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col) or _is_boolean_object(col):
        values = pd.to_numeric(col.map(_bool_or_value), errors="raise").astype("float64").to_numpy()
        return "d12", _significant_digits(values).tobytes()
    parts = [_NULL if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))) else str(v).encode() for v in col]
    return "str", b"\x1f".join(parts)


SIGNIFICANT_DIGITS = 12
_NAN_PAIR = (np.iinfo(np.int64).min, 0)


def _significant_digits(values: np.ndarray) -> np.ndarray:
    """Each float as (mantissa, exponent) int64 with value ~ mantissa * 10**(exponent - 11).

    The mantissa has 12 digits (0 for zero, of either sign); NaN is one fixed pair.
    """
    out = np.empty((len(values), 2), dtype="<i8")
    nan = np.isnan(values)
    zero = values == 0
    regular = ~nan & ~zero
    x = values[regular]
    exponent = np.floor(np.log10(np.abs(x))).astype("int64")
    mantissa = np.round(x / np.power(10.0, exponent - (SIGNIFICANT_DIGITS - 1))).astype("int64")
    carry = np.abs(mantissa) >= 10**SIGNIFICANT_DIGITS  # 9.9999999999996 -> 10.0000000000
    mantissa[carry] //= 10
    exponent[carry] += 1
    out[regular, 0], out[regular, 1] = mantissa, exponent
    out[zero] = (0, 0)
    out[nan] = _NAN_PAIR
    return out


def _is_boolean_object(col: pd.Series) -> bool:
    if col.dtype != object:
        return False
    return all(v is None or v is pd.NA or isinstance(v, (bool, np.bool_)) or (isinstance(v, float) and np.isnan(v)) for v in col)


def _bool_or_value(v):
    if v is None or v is pd.NA:
        return np.nan
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    return v
