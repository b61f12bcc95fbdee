"""The time semantics of DESIGN.md, in one place.

- A game's box score is known from 06:00 UTC on the day after its game date.
- A row about an upcoming game (built only from earlier games) is known from 06:00 UTC
  on the game date.
- A prediction or training example for a game on date D is asked at noon US/Eastern on
  D: it sees exactly the games dated before D.
- Seasons run October to June; a game date in August or later opens a new season.

Also the command line's dates and times: ``parse_date``/``parse_time`` raise UserError
(for values read elsewhere, e.g. a config); ``argparse_date``/``argparse_time`` are the
same for ``add_argument(type=...)``, where argparse must get ArgumentTypeError to
print a usage error (exit 2) instead of a traceback.
"""
from __future__ import annotations

import argparse
import datetime as dt
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
UTC = dt.timezone.utc
KNOWN_HOUR_UTC = 6


def box_score_known_at(game_date: dt.date) -> dt.datetime:
    """When a game's box score is known: 06:00 UTC the day after the game date."""
    return dt.datetime.combine(game_date + dt.timedelta(days=1), dt.time(KNOWN_HOUR_UTC), UTC)


def upcoming_known_at(game_date: dt.date) -> dt.datetime:
    """When the context of an upcoming game is known: 06:00 UTC on the game date."""
    return dt.datetime.combine(game_date, dt.time(KNOWN_HOUR_UTC), UTC)


def noon_eastern(day: dt.date) -> dt.datetime:
    """Noon US/Eastern on ``day``, in UTC: the time a game-day slate is predicted."""
    return dt.datetime.combine(day, dt.time(12), EASTERN).astimezone(UTC)


SEASON_FIRST_MONTH = 8  # a season runs from August 1 to July 31


def season_bounds(game_date: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the season holding ``game_date``: August 1 and July 31."""
    start = game_date.year if game_date.month >= SEASON_FIRST_MONTH else game_date.year - 1
    return dt.date(start, SEASON_FIRST_MONTH, 1), dt.date(start + 1, SEASON_FIRST_MONTH, 1) - dt.timedelta(days=1)


def season_of(game_date: dt.date) -> str:
    """Season label, e.g. 2025-26 for any date from August 2025 to July 2026."""
    start = season_bounds(game_date)[0].year
    return f"{start}-{(start + 1) % 100:02d}"


def parse_date(text: str) -> dt.date:
    """A YYYY-MM-DD date from the command line, with a message that says what was expected."""
    from nbafs.errors import UserError

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time from the command line ('Z' accepted; without an offset it is UTC), in UTC."""
    from nbafs.errors import UserError

    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UserError(f"expected an ISO 8601 time such as 2026-02-10T17:00:00Z, got {text!r}") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def argparse_date(text: str) -> dt.date:
    """``parse_date`` for ``add_argument(type=argparse_date)``: a bad date is a one-line usage error."""
    return _for_argparse(parse_date, text)


def argparse_time(text: str) -> dt.datetime:
    """``parse_time`` for ``add_argument(type=argparse_time)``: a bad time is a one-line usage error."""
    return _for_argparse(parse_time, text)


def _for_argparse(parse, text: str):
    from nbafs.errors import UserError

    try:
        return parse(text)
    except UserError as exc:  # argparse turns only ArgumentTypeError (and ValueError) into usage errors
        raise argparse.ArgumentTypeError(str(exc)) from None
