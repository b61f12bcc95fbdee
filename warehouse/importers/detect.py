"""Recognize a file's format from its columns (never from its name).

Each importer module declares its ``FORMAT``: the columns it needs and the columns
that mean "another format" (the NBA.com team logs exclude ``PLAYER_NAME``, which only
player logs have). A file matches a format when it has every required column and none
of the excluded ones. When a file matches none, the message names the closest format,
the columns it lacks and, for each, the closest column the file does have (a renamed
column such as ``scraped_at`` is then obvious), and lists what every format needs.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from types import ModuleType

import pandas as pd

from warehouse.importers import nbacom_player_logs, nbacom_team_logs, odds_api, realgm
from warehouse.importers.common import Format, ImportError_, NOTHING_WRITTEN

# In dependency order: the team logs define the games the others attach to.
MODULES: tuple[ModuleType, ...] = tuple(
    sorted((nbacom_team_logs, realgm, nbacom_player_logs, odds_api), key=lambda m: m.FORMAT.order)
)
FORMATS: tuple[Format, ...] = tuple(m.FORMAT for m in MODULES)

SUFFIXES = (".csv", ".csv.gz")


class UnknownFormatError(ImportError_):
    """The file's columns match none of the formats."""


def read_columns(path: Path) -> list[str]:
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig", compression="infer")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise ImportError_(
            f"{path}: cannot read a CSV header ({exc}). Expected a comma-separated file with a "
            f"header row (optionally gzip-compressed as .csv.gz); {NOTHING_WRITTEN}."
        ) from None
    return [str(c).strip() for c in header.columns]


def missing_columns(fmt: Format, columns: list[str]) -> list[str]:
    present = set(columns)
    return [c for c in fmt.required if c not in present]


def module_for(path: Path, columns: list[str] | None = None) -> ModuleType:
    """The importer module whose format the file's columns match."""
    columns = read_columns(path) if columns is None else columns
    present = set(columns)
    matches = [m for m in MODULES
               if not missing_columns(m.FORMAT, columns) and not present & set(m.FORMAT.excludes)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:  # pragma: no cover - the declared formats exclude each other
        raise UnknownFormatError(
            f"{path}: its columns match several formats ({', '.join(m.FORMAT.label for m in matches)}). "
            f"Declare an excluded column in the formats (warehouse/importers/) to tell them apart; "
            f"{NOTHING_WRITTEN}."
        )
    raise UnknownFormatError(describe_mismatch(path, columns))


def _closest(name: str, candidates: list[str], cutoff: float) -> str | None:
    """The present column most like a missing one (case ignored), if any is alike enough."""
    by_key = {c.casefold(): c for c in candidates}
    near = difflib.get_close_matches(name.casefold(), list(by_key), n=1, cutoff=cutoff)
    return by_key[near[0]] if near else None


def closest_format(columns: list[str]) -> tuple[Format, list[str]]:
    """The format the columns come closest to, and the required columns they lack."""
    def distance(fmt: Format) -> tuple[int, int]:
        return (len(missing_columns(fmt, columns)), len(set(columns) & set(fmt.excludes)))

    best = min(FORMATS, key=distance)
    return best, missing_columns(best, columns)


def summary(columns: list[str]) -> str:
    """One line: the closest format and what the file lacks for it."""
    best, missing = closest_format(columns)
    lacks = f"lacking {', '.join(missing)}" if missing else "with columns it must not have"
    return f"matches no import format (closest: {best.label}, {lacks})"


def describe_mismatch(path: Path, columns: list[str]) -> str:
    best, missing = closest_format(columns)
    unused = [c for c in columns if c not in best.required and c not in best.optional]
    # A file lacking one or two columns of a format is most likely that format with a
    # renamed column: name the most similar unused column even if it is not very alike.
    cutoff = 0.0 if len(missing) <= 2 else 0.6
    parts = []
    for m in missing:
        near = _closest(m, unused, cutoff)
        parts.append(f"{m!r}" + (f" (closest present column: {near!r})" if near else ""))
    why = f"lacks {', '.join(parts)}" if parts else ""
    excluded = sorted(set(columns) & set(best.excludes))
    if excluded:
        why += ("; " if why else "") + f"has {', '.join(map(repr, excluded))}, which that format must not have"
    needs = "\n".join(f"  - {f.label}: {', '.join(f.required)}" for f in FORMATS)
    return (
        f"{path}: its columns match no import format. Closest: {best.label}, which {why}.\n"
        f"The file has: {', '.join(columns) or '(no columns)'}.\n"
        f"Each format needs these columns:\n{needs}\n"
        f"Rename the column(s) in the file (or fix the exporter) and import again; {NOTHING_WRITTEN}."
    )
