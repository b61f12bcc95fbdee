"""Entities: who and what the features describe.

- ``player``: join key ``player_lookup``, the normalized player name upstream uses
  (lower case letters and digits, suffixes such as Jr./II kept as letters).
- ``game``: join key ``game_id``. Only the betting-line view is keyed by it, because a
  line belongs to one game (a book can quote a player's next two games in the same
  snapshot); every other view is keyed by player alone and serves his latest row.
"""
from __future__ import annotations

from feast import Entity, ValueType

OWNER = "player-props@nba-feature-store"

player = Entity(
    name="player",
    join_keys=["player_lookup"],
    value_type=ValueType.STRING,
    description="An NBA player, keyed by player_lookup (normalized name: lower case letters and digits)",
    owner=OWNER,
)

game = Entity(
    name="game",
    join_keys=["game_id"],
    value_type=ValueType.STRING,
    description="An NBA game, keyed by game_id (NBA.com style, e.g. 0022500001)",
    owner=OWNER,
)
