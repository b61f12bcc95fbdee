"""What every importer shares: reading a file, strict parsing with clear errors, reports.

Rows are numbered as lines of the file (the header is line 1, the first data row line
2): a frame read by ``read_rows`` carries that number as its index, every filter keeps
it, and every error names it, so "line 5" is what the user sees in an editor.

Parsers never guess: a value that does not parse stops the import with a message that
names the file, the line, the column, what was expected and what to do. An empty cell
stays NULL (NA), never 0.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from nbafs import timeline
from warehouse.teams import team_abbrs
from warehouse.validate import ValidationError

NOTHING_WRITTEN = "nothing was written"


class ImportError_(ValidationError):
    """A file cannot be imported as it is; the message says where, what and what to do."""


@dataclass(frozen=True)
class Format:
    """One file format an importer understands, recognized by its columns."""

    key: str
    label: str
    required: tuple[str, ...]          # columns the importer reads (all must be present)
    excludes: tuple[str, ...] = ()     # columns whose presence means it is another format
    optional: tuple[str, ...] = ()     # known columns it does not need (never taken for a renamed one)
    order: int = 0                     # dependency order within one import run


@dataclass
class FileReport:
    """What happened to one file: its format, rows kept and dropped (with why), time."""

    path: Path
    format: Format
    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)  # named numbers, e.g. a join rate
    seconds: float = 0.0  # reading, parsing and validating the file

    def drop(self, reason: str, count: int) -> None:
        if count:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(count)

    def line(self) -> str:
        text = f"{self.path.name}: {self.format.label}, {self.rows_read:,} rows, kept {self.rows_kept:,}"
        if self.dropped:
            text += "; dropped " + ", ".join(f"{n:,} {why}" for why, n in self.dropped.items())
        text += f" [{self.seconds:.2f} s]"
        for note in self.notes:
            text += f"\n    {note}"
        return text


def read_rows(path: Path, usecols: Iterable[str] | None = None) -> pd.DataFrame:
    """The file's rows as strings (empty cells NA), indexed by their line number."""
    wanted = None if usecols is None else set(usecols)
    df = pd.read_csv(
        path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
        compression="infer", usecols=None if wanted is None else (lambda c: str(c).strip() in wanted),
    )
    df.columns = [str(c).strip() for c in df.columns]
    df.index = pd.RangeIndex(2, len(df) + 2, name="line")
    return df


def per_unique(raw: pd.Series, func: Callable[[pd.Series], pd.Series | pd.DataFrame]):
    """``func(raw)`` computed once per distinct value (files repeat values a lot: team
    names, dates, small counts), then spread back to every row, index kept."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    values = func(pd.Series(np.append(np.asarray(uniques, dtype=object), None), dtype=object))
    out = values.iloc[codes]  # code -1 (an empty cell) takes the appended None's result
    out.index = raw.index
    return out


def fail(path: Path, problem: str, todo: str) -> ImportError_:
    return ImportError_(f"{path}: {problem}. {todo}; {NOTHING_WRITTEN}.")


def _first(mask: pd.Series, values: pd.Series) -> tuple[int, object, int]:
    bad = mask[mask]
    line = int(bad.index[0])
    return line, values.loc[line], int(len(bad))


def check(path: Path, mask: pd.Series, values: pd.Series, column: str, expected: str, todo: str) -> None:
    """Raise for the first line where ``mask`` is True, naming the column and its value."""
    mask = mask.astype("boolean").fillna(False).astype(bool)
    if mask.any():
        line, value, n = _first(mask, values)
        more = f" ({n:,} such rows)" if n > 1 else ""
        raise fail(path, f"line {line}, column {column!r}: expected {expected}, got {value!r}{more}", todo)


FIX_THE_FILE = "Fix the value in the file (or remove the row) and import again"


def parse_dates(path: Path, raw: pd.Series, column: str, fmt: str, shown: str) -> pd.Series:
    """Dates in ``fmt`` (``shown`` is how the message writes it); empty or bad -> error."""
    parsed = per_unique(raw, lambda u: pd.to_datetime(u, format=fmt, errors="coerce"))
    check(path, parsed.isna(), raw, column, f"a date as {shown}", FIX_THE_FILE)
    return parsed.dt.normalize()


def parse_timestamps_utc(path: Path, raw: pd.Series, column: str) -> pd.Series:
    """ISO 8601 timestamps (e.g. 2025-10-21T23:35:00Z); a value without offset is UTC."""
    parsed = per_unique(raw, lambda u: pd.to_datetime(u, format="ISO8601", utc=True, errors="coerce"))
    check(path, parsed.isna(), raw, column, "an ISO 8601 time such as 2025-10-21T23:35:00Z", FIX_THE_FILE)
    return parsed


def parse_minutes(path: Path, raw: pd.Series, column: str) -> pd.Series:
    """Minutes as "mm:ss" (RealGM) or a plain number (NBA.com) -> decimal minutes."""
    def decimal(values: pd.Series) -> pd.Series:
        text = values.str.strip()
        parts = text.str.extract(r"^(\d+):([0-5]\d)$")
        clock = parts[0].astype(float) + parts[1].astype(float) / 60.0
        plain = pd.to_numeric(text.where(~text.str.contains(":", na=False)), errors="coerce")
        return clock.fillna(plain)

    minutes = per_unique(raw, decimal)
    check(
        path, minutes.isna() | (minutes < 0), raw, column,
        'minutes as "mm:ss" (e.g. "34:12") or a non-negative number', FIX_THE_FILE,
    )
    return minutes.astype(float)


def parse_counts(path: Path, frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Whole non-negative numbers; empty cells stay NA. ``columns``: file column -> name."""
    out = {}
    for src, dest in columns.items():
        raw = frame[src]
        num = per_unique(raw, lambda u: pd.to_numeric(u, errors="coerce")).astype(float)
        check(path, raw.notna() & num.isna(), raw, src, "a number", FIX_THE_FILE)
        check(path, num.notna() & (num % 1 != 0), raw, src, "a whole number", FIX_THE_FILE)
        check(
            path, num < 0, raw, src, "a count >= 0",
            "A negative count is a scraper bug: fix the source file and import again",
        )
        out[dest] = num.astype("Int64")
    return pd.DataFrame(out, index=frame.index)


def parse_numbers(path: Path, raw: pd.Series, column: str, minimum: float | None = None) -> pd.Series:
    num = per_unique(raw, lambda u: pd.to_numeric(u, errors="coerce")).astype(float)
    check(path, raw.notna() & num.isna(), raw, column, "a number", FIX_THE_FILE)
    if minimum is not None:
        check(path, num < minimum, raw, column, f"a number >= {minimum:g}", FIX_THE_FILE)
    return num.astype(float)


def require_values(path: Path, frame: pd.DataFrame, columns: Iterable[str] | None = None,
                   todo: str = FIX_THE_FILE) -> None:
    for col in frame.columns if columns is None else columns:
        check(path, frame[col].isna(), frame[col], col, "a value (the cell is empty)", todo)


def game_ids(path: Path, raw: pd.Series) -> pd.Series:
    """NBA.com game ids in their 10-character form ("22500001" -> "0022500001")."""
    require_values(path, raw.to_frame())
    ids = per_unique(raw, lambda u: u.str.strip().str.zfill(10)).astype(object)
    bad = ~per_unique(ids, lambda u: u.str.fullmatch(r"\d{10}", na=False)).astype(bool)
    check(path, bad, raw, raw.name, 'an NBA.com game id such as "0022500001" (or "22500001")', FIX_THE_FILE)
    return ids


REGULAR_SEASON_PREFIX = "002"
GAME_TYPES = {"001": "preseason", "002": "regular season", "003": "All-Star",
              "004": "playoffs", "005": "play-in", "006": "NBA Cup final"}


def drop_non_regular_season(report: FileReport, ids: pd.Series) -> pd.Series:
    """Mask of regular-season game ids (00225xxxxx); counts the others by game type."""
    prefix = ids.str[:3]
    keep = prefix.eq(REGULAR_SEASON_PREFIX)
    for p, n in prefix[~keep].value_counts().sort_index().items():
        report.drop(f"{GAME_TYPES.get(p, f'other ({p})')} rows", n)
    return keep


@dataclass
class NbaComRows:
    """The regular-season rows of an NBA.com log with the keys both NBA.com formats share."""

    rows: pd.DataFrame
    game_id: pd.Series
    game_date: pd.Series
    team_abbr: pd.Series


def nbacom_regular_season(path: Path, rows: pd.DataFrame, report: FileReport,
                          required: Iterable[str]) -> NbaComRows:
    """Keep an NBA.com log's regular-season rows (others counted by game type), require
    ``required`` plus the shared key columns to be filled, and parse the game id, the
    game date and the team code (one of the 30, warehouse/teams.py)."""
    ids = game_ids(path, rows["GAME_ID"])
    keep = drop_non_regular_season(report, ids)
    rows, ids = rows[keep], ids[keep]
    require_values(path, rows, dict.fromkeys([*required, "GAME_DATE", "TEAM_ABBREVIATION"]))
    team = team_abbrs(rows["TEAM_ABBREVIATION"])
    check(path, team.isna(), rows["TEAM_ABBREVIATION"], "TEAM_ABBREVIATION",
          "one of the 30 NBA team codes (warehouse/teams.py)", FIX_THE_FILE)
    game_date = parse_dates(path, rows["GAME_DATE"].str[:10], "GAME_DATE", "%Y-%m-%d", "YYYY-MM-DD")
    return NbaComRows(rows, ids, game_date, team)


def box_score_known_at(game_dates: pd.Series) -> pd.Series:
    """Vectorized ``nbafs.timeline.box_score_known_at`` (06:00 UTC the day after)."""
    first = dt.date(2000, 1, 1)
    offset = timeline.box_score_known_at(first) - dt.datetime.combine(first, dt.time(0), timeline.UTC)
    return pd.to_datetime(game_dates).dt.tz_localize("UTC") + offset


def date_range(dates: pd.Series) -> list[dt.date]:
    """Every calendar day from the first to the last date: the partitions a file owns."""
    if dates.empty:
        return []
    start, end = pd.Timestamp(dates.min()).date(), pd.Timestamp(dates.max()).date()
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def duplicates(
    path: Path, frame: pd.DataFrame, keys: list[str], shown: list[str], what: str,
    same: list[str] | None = None,
) -> pd.Series:
    """Rows repeating ``keys``: an error, unless they also agree on every ``same`` column.

    Returns the mask of exact repeats to drop (the first of each group is kept). The
    message names the lines and the key values, so the user can find both rows.
    """
    dup = frame.duplicated(subset=keys, keep=False)
    if not dup.any():
        return pd.Series(False, index=frame.index)
    if same is not None:
        conflicting = frame[dup].drop_duplicates(subset=keys + same).duplicated(subset=keys, keep=False)
        if not conflicting.any():
            return frame.duplicated(subset=keys, keep="first")
        dup_keys = frame[dup].drop_duplicates(subset=keys + same)[conflicting].iloc[0][keys]
    else:
        dup_keys = frame[dup].iloc[0][keys]
    group = frame[(frame[keys] == dup_keys.values).all(axis=1)]
    lines = ", ".join(str(i) for i in group.index[:5])
    values = ", ".join(f"{s}={group.iloc[0][k]}" for s, k in zip(shown, keys))
    raise fail(
        path,
        f"lines {lines} are the same {what} ({values})"
        + (" with different values" if same is not None else "")
        + f" ({int(dup.sum()):,} rows repeat a {what} in all)",
        f"Each {what} must appear once: remove the duplicate rows and import again",
    )


Progress = Callable[[str], None]


def implied_probability(american: pd.Series) -> pd.Series:
    """American odds -> implied probability (-110 -> 0.524, +150 -> 0.4)."""
    a = american.astype(float)
    return pd.Series(np.where(a < 0, -a / (100.0 - a), 100.0 / (a + 100.0)), index=american.index).where(a.notna())
