"""The 30 NBA teams, declared once, and the lookup from any source's team name to its code.

Every table stores teams as NBA.com three-letter codes (``team_abbr``). The sources
write teams differently:

- NBA.com game logs: the code itself (``TEAM_ABBREVIATION``) and a full name
  (``TEAM_NAME``, e.g. "LA Clippers").
- RealGM player logs: the nickname ("Thunder", "Trail Blazers", and "Sixers" for the
  76ers). RealGM also lists college and foreign clubs under their city or school
  ("Houston", "Memphis", "Utah", "Valencia Basket"), so city names are deliberately NOT
  names of an NBA team here: "Houston" is the University of Houston, never HOU.
- The Odds API: the full name ("Houston Rockets", "Los Angeles Clippers").

``team_abbr(name)`` maps any of those names (case and spacing ignored) to the code and
raises ``UnknownTeamError`` naming the closest known name otherwise;
``team_abbrs(series)`` is the vectorized form used by the importers (unknown -> NA).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pandas as pd

from nbafs.errors import UserError


@dataclass(frozen=True)
class Team:
    abbr: str            # NBA.com code, what every table stores
    full_name: str       # "City Nickname", as NBA.com and the Odds API write most teams
    nickname: str        # as RealGM writes it
    other_names: tuple[str, ...] = ()  # further spellings seen in the sources

    @property
    def names(self) -> tuple[str, ...]:
        return (self.abbr, self.full_name, self.nickname, *self.other_names)


TEAMS: tuple[Team, ...] = (
    Team("ATL", "Atlanta Hawks", "Hawks"),
    Team("BOS", "Boston Celtics", "Celtics"),
    Team("BKN", "Brooklyn Nets", "Nets"),
    Team("CHA", "Charlotte Hornets", "Hornets"),
    Team("CHI", "Chicago Bulls", "Bulls"),
    Team("CLE", "Cleveland Cavaliers", "Cavaliers"),
    Team("DAL", "Dallas Mavericks", "Mavericks"),
    Team("DEN", "Denver Nuggets", "Nuggets"),
    Team("DET", "Detroit Pistons", "Pistons"),
    Team("GSW", "Golden State Warriors", "Warriors"),
    Team("HOU", "Houston Rockets", "Rockets"),
    Team("IND", "Indiana Pacers", "Pacers"),
    # NBA.com writes "LA Clippers", the Odds API "Los Angeles Clippers".
    Team("LAC", "Los Angeles Clippers", "Clippers", ("LA Clippers",)),
    Team("LAL", "Los Angeles Lakers", "Lakers", ("LA Lakers",)),
    Team("MEM", "Memphis Grizzlies", "Grizzlies"),
    Team("MIA", "Miami Heat", "Heat"),
    Team("MIL", "Milwaukee Bucks", "Bucks"),
    Team("MIN", "Minnesota Timberwolves", "Timberwolves"),
    Team("NOP", "New Orleans Pelicans", "Pelicans"),
    Team("NYK", "New York Knicks", "Knicks"),
    Team("OKC", "Oklahoma City Thunder", "Thunder"),
    Team("ORL", "Orlando Magic", "Magic"),
    # RealGM writes the 76ers as "Sixers".
    Team("PHI", "Philadelphia 76ers", "Sixers", ("76ers",)),
    Team("PHX", "Phoenix Suns", "Suns"),
    Team("POR", "Portland Trail Blazers", "Trail Blazers"),
    Team("SAC", "Sacramento Kings", "Kings"),
    Team("SAS", "San Antonio Spurs", "Spurs"),
    Team("TOR", "Toronto Raptors", "Raptors"),
    Team("UTA", "Utah Jazz", "Jazz"),
    Team("WAS", "Washington Wizards", "Wizards"),
)

ABBRS: tuple[str, ...] = tuple(t.abbr for t in TEAMS)


class UnknownTeamError(UserError, KeyError):
    """A name that is none of the 30 NBA teams."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().casefold()


_BY_KEY: dict[str, str] = {}
for _team in TEAMS:
    for _name in _team.names:
        _k = _key(_name)
        if _BY_KEY.get(_k, _team.abbr) != _team.abbr:  # pragma: no cover - declaration bug
            raise ValueError(f"team name {_name!r} is declared for two teams")
        _BY_KEY[_k] = _team.abbr


def team_abbr(name: str) -> str:
    """The NBA.com code of ``name`` (a code, full name or nickname, any case)."""
    abbr = _BY_KEY.get(_key(name))
    if abbr is None:
        known = sorted({n for t in TEAMS for n in t.names})
        near = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
        raise UnknownTeamError(
            f"unknown NBA team {name!r}"
            + (f" (closest known name: {near[0]!r})" if near else "")
            + ". Expected one of the 30 NBA teams as a code (e.g. 'OKC'), a full name "
            "(e.g. 'Oklahoma City Thunder') or a nickname (e.g. 'Thunder'); add a new "
            "spelling to warehouse/teams.py if a source writes a team another way."
        )
    return abbr


def team_abbrs(names: pd.Series) -> pd.Series:
    """Vectorized ``team_abbr``: the code per value, NA where the name is no NBA team."""
    codes, uniques = pd.factorize(names)  # a few distinct names over many rows
    abbrs = pd.array([_BY_KEY.get(_key(u)) for u in uniques] + [None], dtype="string")
    return pd.Series(abbrs[codes], index=names.index)


def is_nba_team(name: str) -> bool:
    return _key(name) in _BY_KEY
