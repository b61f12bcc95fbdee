"""Changing one game date's rows in the local warehouse's files behind its back (not a test module).

Tests that simulate a bad upstream (a renamed column, a NULL feature, a lost partition)
edit the stored files directly, bypassing validation. A file holds a month of game dates
(``warehouse.storage``); these helpers change only the date asked for and keep the file's
footer (its list of dates) right.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse import storage


def day_rows(table, day: dt.date) -> pa.Table:
    """The rows of one game date, as stored in the file that holds it."""
    return pq.read_table(storage.partition_path(table, day), filters=[(table.partition_by, "=", day)])


def rewrite_day(table, day: dt.date, change) -> None:
    """Replace a game date's rows in its file with ``change(its rows)``.

    A change that renames columns renames them in the whole file (a file has one schema).
    """
    path = storage.partition_path(table, day)
    stored = pq.read_table(path)
    on_day = pc.equal(stored.column(table.partition_by), pa.scalar(day, pa.date32()))
    changed = change(stored.filter(on_day))
    others = stored.filter(pc.invert(on_day))
    if others.column_names != changed.column_names:
        others = others.rename_columns(changed.column_names)
    storage.write_file(path, pa.concat_tables([others, changed.cast(others.schema)]), table)


def set_day_column(table, day: dt.date, name: str, values) -> None:
    """Set column ``name`` of a game date's rows to ``values(its current values)``."""
    def change(t: pa.Table) -> pa.Table:
        i = t.column_names.index(name)
        return t.set_column(i, name, pa.array(values(t.column(name).to_pylist()), t.schema.field(name).type))

    rewrite_day(table, day, change)


def drop_day(table, day: dt.date) -> None:
    """Delete a game date's rows (the file goes when it was its only date)."""
    rewrite_day(table, day, lambda t: t.slice(0, 0))
    path = storage.partition_path(table, day)
    if not pq.read_metadata(path).num_rows:
        path.unlink()
