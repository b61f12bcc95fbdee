"""Check a batch of rows against a table's declaration before anything is written.

One clear message per problem: the table (and the source file when known), the column
or row, what was expected and what to do. The first problem found stops the batch, so
a bad file writes nothing.
"""
from __future__ import annotations

import difflib

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nbafs.errors import UserError
from warehouse.schema import ARROW_TYPES, Table


class ValidationError(UserError, ValueError):
    """Bad input: the message says where, what was expected and what to do."""


def closest_name(name: str, candidates: list[str]) -> str | None:
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.0)
    return match[0] if match else None


def _where(table: Table, source: str | None) -> str:
    return f"{source} -> {table.fqn}" if source else table.fqn


def conform(table: Table, df: pd.DataFrame, source: str | None = None) -> pa.Table:
    """Validate ``df`` against ``table`` and return it as an Arrow table of the declared schema.

    Checks: every declared column present (extra columns are dropped), values castable
    to the declared type, no NULL in a NOT NULL column, numbers not below their declared
    minimum, no duplicate rows at the table's grain.
    """
    where = _where(table, source)
    missing = [c for c in table.column_names if c not in df.columns]
    if missing:
        hints = []
        for m in missing:
            near = closest_name(m, [c for c in df.columns if c not in table.column_names])
            hints.append(f"{m!r}" + (f" (closest present: {near!r})" if near else ""))
        raise ValidationError(
            f"{where}: missing column(s) {', '.join(hints)}. Expected the columns declared in "
            f"warehouse/schema.py ({', '.join(table.column_names)}). Rename the column upstream "
            f"or fix the importer's mapping; nothing was written."
        )
    arrays = []
    for col in table.columns:
        series = df[col.name]
        try:
            arr = _to_arrow(series, ARROW_TYPES[col.type])
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as exc:
            bad = _first_bad_row(series, ARROW_TYPES[col.type])
            raise ValidationError(
                f"{where}: column {col.name!r} expected {col.type}; "
                + (f"row {bad[0]} has {bad[1]!r}. " if bad else f"({exc}). ")
                + "Fix the value at the source; nothing was written."
            ) from None
        if not col.nullable and arr.null_count:
            row = int(pd.Series(arr.is_null().to_numpy(zero_copy_only=False)).idxmax())
            raise ValidationError(
                f"{where}: column {col.name!r} is NOT NULL but row {row} is empty "
                f"({arr.null_count} empty in all). Fill it at the source; nothing was written."
            )
        if col.min_value is not None and len(arr):
            values = pd.Series(arr.to_pandas())
            below = values < col.min_value
            if below.any():
                row = int(below.idxmax())
                raise ValidationError(
                    f"{where}: column {col.name!r} must be >= {col.min_value:g}; row {row} has "
                    f"{values[row]!r} ({int(below.sum())} such rows). Negative counts are a scraper "
                    f"bug: fix the source; nothing was written."
                )
        arrays.append(arr)
    out = pa.Table.from_arrays(arrays, schema=table.arrow_schema())
    keys = list(table.grain)
    dup = df.duplicated(subset=keys, keep=False)
    if dup.any():
        first = df.loc[dup, keys].head(1).to_dict("records")[0]
        raise ValidationError(
            f"{where}: duplicate rows at the grain ({', '.join(keys)}): {int(dup.sum())} rows, "
            f"first {first}. Each {', '.join(keys)} must appear once; remove the duplicates; "
            f"nothing was written."
        )
    return out


def conform_arrow(table: Table, data: pa.Table, source: str | None = None) -> pa.Table:
    """``conform`` for Arrow rows (e.g. a query's result) without a round trip through pandas.

    The same checks: declared columns present, values castable (a safe Arrow cast), no
    NULL in a NOT NULL column, no number below its minimum, no duplicate at the grain.
    Whatever fails is handed to ``conform``, whose message names the row and the value.
    """
    if any(c not in data.column_names for c in table.column_names):
        return conform(table, data.to_pandas(), source)
    schema = table.arrow_schema()
    arrays = []
    for col, field in zip(table.columns, schema):
        arr = data.column(col.name)
        try:
            arr = arr if arr.type == field.type else arr.cast(field.type, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return conform(table, data.to_pandas(), source)
        if pa.types.is_floating(field.type) and arr.null_count < len(arr):
            arr = pc.if_else(pc.is_nan(arr), pa.scalar(None, field.type), arr)  # NaN is NULL, as from pandas
        if not col.nullable and arr.null_count:
            return conform(table, data.to_pandas(), source)
        if col.min_value is not None and len(arr) and arr.null_count < len(arr):
            if pc.min(arr).as_py() < col.min_value:
                return conform(table, data.to_pandas(), source)
        arrays.append(arr)
    out = pa.Table.from_arrays(arrays, schema=schema)
    keys = list(table.grain)
    if out.num_rows and out.group_by(keys).aggregate([]).num_rows != out.num_rows:
        return conform(table, data.to_pandas(), source)
    return out


def _to_arrow(series: pd.Series, typ: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(typ):
        s = pd.to_datetime(series, utc=True, errors="raise")
        return pa.array(s, type=typ, from_pandas=True)
    if pa.types.is_date(typ):
        s = pd.to_datetime(series, errors="raise").dt.date
        return pa.array(s.where(series.notna(), None), type=typ, from_pandas=True)
    if pa.types.is_integer(typ):
        s = pd.to_numeric(series, errors="raise")
        if ((s.dropna() % 1) != 0).any():
            raise ValueError("not a whole number")
        return pa.array(s.astype("Int64"), type=typ, from_pandas=True)
    if pa.types.is_floating(typ):
        return pa.array(pd.to_numeric(series, errors="raise"), type=typ, from_pandas=True)
    if pa.types.is_boolean(typ):
        return pa.array(series.astype("boolean"), type=typ, from_pandas=True)
    return pa.array(series.astype("string"), type=typ, from_pandas=True)


def _first_bad_row(series: pd.Series, typ: pa.DataType) -> tuple[int, object] | None:
    for idx, value in series.items():
        if value is None or (isinstance(value, float) and pd.isna(value)):
            continue
        try:
            _to_arrow(pd.Series([value]), typ)
        except Exception:  # noqa: BLE001 - we are looking for the value that fails
            return idx, value
    return None
