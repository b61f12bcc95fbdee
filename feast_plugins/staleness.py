"""The staleness rule of every online read, and the request time it is judged at.

A value is served iff ``request_time - ttl <= event_time <= request_time`` (ttl 0: no
lower bound), the window point-in-time retrieval uses for training. Outside it the value
is NULL with status ``OUTSIDE_MAX_AGE``: older than its view's ttl, or written after the
request's time (a past date replayed on a newer store). Stock Feast serves whatever the
store holds (feast-dev/feast issue 6821); our online stores apply this rule in their
``get_online_features`` (``online_serving.py``), so it holds for the SDK, ``feast serve``,
``nbafs online`` and ``nbafs predict`` alike.

The request time is the entity-row key ``request_time`` (``REQUEST_TIME``): an ISO 8601
time with an offset or ``Z``, or epoch seconds; one value for every row or one per row.
Without it the wall clock at the read is used.
"""
from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any, List, Optional

from feast.errors import FeastError
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus

from nbafs.errors import UserError

REQUEST_TIME = "request_time"
PRESENT, NOT_FOUND, OUTSIDE_MAX_AGE = FieldStatus.PRESENT, FieldStatus.NOT_FOUND, FieldStatus.OUTSIDE_MAX_AGE


class RequestError(UserError, FeastError):
    """A malformed online request: a ``UserError`` in Python, an HTTP 400 through ``feast serve``."""

    def http_status_code(self) -> int:
        return 400


def pop_request_times(entity_values: dict, rows: Optional[int]) -> List[int]:
    """Remove ``request_time`` from columnar entity values; its value per row, in microseconds.

    ``rows`` is the number of entity rows (None when no other column says it).
    """
    raw = entity_values.pop(REQUEST_TIME, None)
    if raw is None:
        now = time.time_ns() // 1000
        return [now] * (rows or 0)
    values = [raw] if isinstance(raw, (str, int, float, dt.datetime)) else list(raw)
    if rows is None:
        rows = len(values)
    if len(values) == 1:
        return [_micros(values[0], 0)] * rows
    if len(values) != rows:
        raise RequestError(
            f"{REQUEST_TIME}: {len(values)} values for {rows} entity rows; give one time for all "
            f"rows or one per row"
        )
    return [_micros(v, i) for i, v in enumerate(values)]


def _micros(value: Any, row: int) -> int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise RequestError(f"{REQUEST_TIME}[{row}]: {value!r} has no time zone; give UTC or an offset")
        return _to_micros(value)
    if isinstance(value, bool) or value is None:
        raise RequestError(f"{REQUEST_TIME}[{row}]: {value!r}; expected an ISO 8601 time with offset or epoch seconds")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise RequestError(f"{REQUEST_TIME}[{row}]: {value!r}; expected epoch seconds (>= 0)")
        return int(round(value * 1_000_000))
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise RequestError(
                f"{REQUEST_TIME}[{row}]: {value!r} is not an ISO 8601 time with an offset; "
                f"expected e.g. 2026-02-10T17:00:00Z or 1770742800"
            )
        return _to_micros(parsed)
    raise RequestError(f"{REQUEST_TIME}[{row}]: {type(value).__name__} value; expected an ISO 8601 string or epoch seconds")


def _to_micros(t: dt.datetime) -> int:
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def ttl_micros(view) -> Optional[int]:
    """A feature view's ttl in microseconds; None when it never expires (ttl 0 or unset)."""
    ttl = getattr(view, "ttl", None)
    if not ttl:
        return None
    micros = int(ttl.total_seconds() * 1_000_000)
    return micros or None


def judge(event_us: list, request_us: List[int], ttl_us: Optional[int]) -> List[int]:
    """The status of each row's stored value (event time in µs or None) at its request time."""
    if ttl_us is None:
        return [NOT_FOUND if e is None else OUTSIDE_MAX_AGE if e > t else PRESENT
                for e, t in zip(event_us, request_us)]
    return [NOT_FOUND if e is None else PRESENT if t - ttl_us <= e <= t else OUTSIDE_MAX_AGE
            for e, t in zip(event_us, request_us)]
