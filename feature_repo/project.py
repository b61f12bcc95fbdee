"""The Feast project these definitions belong to (same name in both profiles' yaml)."""
from __future__ import annotations

from feast import Project

nba_feature_store = Project(
    name="nba_feature_store",
    description="Point-in-time-correct NBA player features for player-prop models",
    owner="player-props@nba-feature-store",
)
