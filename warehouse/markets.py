"""The player-prop markets, declared once: what each is called by the books, what it settles on.

``MARKETS`` are the over/under markets the store models, each with a feature service
``player_<name>_v1`` (``feature_repo/catalog.py``), a model and an evaluation. The Odds
API files hold more: ``STORED_ONLY`` markets are imported and kept in
``nba_raw.odds_api_player_props`` but not modelled (yes/no markets have no line).

Pure data, no I/O: the schema (``warehouse/schema.py``), the importer, the sample
season's books, the catalog and the model all read it.
"""
from __future__ import annotations

from dataclasses import dataclass

from nbafs.errors import UserError


@dataclass(frozen=True)
class Market:
    name: str  # prefix of its line features (``<name>_line``) and of its service ``player_<name>_v1``
    odds_api_key: str  # the ``market`` value in the Odds API files
    stat: str  # the per-game stat the market settles on: prefix of its form features (``<stat>_avg_last_5``)
    box_score: tuple[str, ...]  # player_game_summary columns summed into the stat
    label: str  # human name

    @property
    def service(self) -> str:
        return f"player_{self.name}_v1"

    @property
    def line_feature(self) -> str:
        return f"{self.name}_line"

    @property
    def over_prob_feature(self) -> str:
        return f"{self.name}_over_prob_no_vig"


POINTS = Market("points", "player_points", "points", ("points",), "points")
REBOUNDS = Market("rebounds", "player_rebounds", "rebounds", ("rebounds",), "rebounds")
ASSISTS = Market("assists", "player_assists", "assists", ("assists",), "assists")
THREES = Market("threes", "player_threes", "threes_made", ("fg3m",), "three-pointers made")
PRA = Market("pra", "player_points_rebounds_assists", "pra", ("points", "rebounds", "assists"),
             "points + rebounds + assists")

MARKETS: tuple[Market, ...] = (POINTS, REBOUNDS, ASSISTS, THREES, PRA)
STATS: tuple[str, ...] = tuple(m.stat for m in MARKETS)

# Imported and stored, never modelled: over/under markets outside the five, and the
# yes/no markets, whose rows carry no line and no prices (only who was offered).
STORED_ONLY: tuple[str, ...] = ("player_blocks", "player_steals", "player_double_double", "player_triple_double")
YES_NO: tuple[str, ...] = ("player_double_double", "player_triple_double")
ODDS_API_KEYS: tuple[str, ...] = tuple(m.odds_api_key for m in MARKETS) + STORED_ONLY


class UnknownMarket(UserError, KeyError):
    """A market name that warehouse/markets.py does not declare."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def market(name: "str | Market") -> Market:
    """A market by its name (``rebounds``) or its Odds API key (``player_rebounds``); a Market as is."""
    if isinstance(name, Market):
        return name
    for m in MARKETS:
        if name in (m.name, m.odds_api_key):
            return m
    raise UnknownMarket(f"no market {name!r} in warehouse/markets.py; markets: {', '.join(m.name for m in MARKETS)}")


def by_odds_api_key() -> dict[str, Market]:
    return {m.odds_api_key: m for m in MARKETS}
