"""Batch feature views: one per warehouse table the model reads.

Each view's features, types, descriptions and owners come from ``feature_repo/catalog.py``
(``Feature.view``); this module adds what only Feast needs: the entity, the source and
the ttl, the longest a row may be served after its event time.

| view | table | entity | ttl | why |
|---|---|---|---|---|
| player_game_summary | nba_analytics.player_game_summary | player | 10 days | his most recent game; the gap between two games can be long (All-Star break, rest, minor injuries), but a game older than that is no longer "the last game" |
| upcoming_player_game_context | nba_analytics.upcoming_player_game_context | player | 1 day | a row describes one game and is known from 06:00 UTC on its date: it serves that whole game day, never the next one |
| player_composite_factors | nba_precompute.player_composite_factors | player | 1 day | same grain and timing as the context |
| player_stat_form | nba_analytics.player_stat_form | player | 1 day | same grain and timing as the context |
| player_availability | nba_analytics.player_availability | player | 1 day | same grain and timing as the context |
| player_season_prior | nba_analytics.player_season_prior | player | 1 day | same grain and timing as the context |
| player_points_line | nba_analytics.player_points_line_consensus (push source ``player_points_line_push``) | player, game | 18 hours | a line is about one game and is posted on game day; a line older than that is stale |
| player_prop_lines | nba_analytics.player_prop_lines | player, game | 18 hours | every market's line and no-vig over probability; stale like the points line |

The views are ``DeclaredFeatureView``s: Feast's FeatureView, except that two views
declared alike are equal whatever has been materialized, so ``feast plan`` on a
materialized store plans no change (the class says why stock Feast 0.67 does not).
"""
from __future__ import annotations

import copy
from datetime import timedelta

from feast import FeatureView, Field, PushSource
from feast.types import Bool, Float64, Int64, PrimitiveFeastType

from feature_repo import catalog
from feature_repo.data_sources import (
    player_availability_source,
    player_composite_factors_source,
    player_game_summary_source,
    player_points_line_push,
    player_prop_lines_source,
    player_season_prior_source,
    player_stat_form_source,
    upcoming_player_game_context_source,
)
from feature_repo.entities import game, player

FEAST_TYPES: dict[str, PrimitiveFeastType] = {"Float64": Float64, "Int64": Int64, "Bool": Bool}
OWNER = "player-props@nba-feature-store"


def field(feature: catalog.Feature) -> Field:
    """A Feast Field for a catalog feature: type, description and owner from the catalog."""
    return Field(
        name=feature.name,
        dtype=FEAST_TYPES[feature.dtype],
        description=feature.description,
        tags={"owner": feature.owner, **feature.tags},
    )


def fields_of(view: str) -> list[Field]:
    features = catalog.features_of_view(view)
    if not features:
        raise KeyError(f"feature_repo/catalog.py declares no feature for view {view!r}")
    return [field(f) for f in features]


class DeclaredFeatureView(FeatureView):
    """A FeatureView whose equality ignores ``materialization_intervals`` (registry run state).

    Why: on a materialized store, stock Feast 0.67 reports "Updated feature view <name>
    batch_source: ..." on every ``feast plan`` (and ``feast apply``), for every view.
    ``diff_registry_objects`` (feast/diff/registry_diff.py) compares the registry's view
    with the declared one by ``FeatureView.__eq__``, which counts
    ``materialization_intervals``: the registry's view has the intervals that
    ``materialize`` recorded, a declaration has none, so the two differ. Feast then
    compares the spec protos field by field, and ``batch_source`` differs too, though
    only in its ``meta`` timestamps: ``DataSource.__init__`` stamps the object's creation
    time and ``apply_data_source`` the apply time, and ``FeatureView.to_proto`` embeds
    them in the spec. On a never-materialized store ``__eq__`` holds and the spec is
    never compared, which is why a plan right after ``feast apply`` was clean.

    Feast itself treats the intervals as run state elsewhere:
    ``FeatureView._schema_or_udf_changed`` skips them ("excluded in current equality")
    and ``apply_feature_view`` keeps the registry's intervals across an update. So our
    declared views compare as that view would with the registry's intervals. Feast calls
    ``current != new`` with the registry's plain FeatureView on the left; Python gives
    the right operand's method priority when its class is a subclass of the left's, so
    this ``__eq__`` decides either way round. Entity and entity column order play no
    part (``__eq__`` sorts them, and both follow ``entities=`` here).

    Left as in stock Feast: when a view really changed (say its ttl), the plan lists a
    ``batch_source`` line beside the real change, whose only difference is those timestamps.
    """

    def __eq__(self, other):
        if isinstance(other, FeatureView) and other.materialization_intervals != self.materialization_intervals:
            other = copy.copy(other)  # FeatureView.__copy__ keeps all __eq__ compares but the intervals
            other.materialization_intervals = list(self.materialization_intervals)
        return super().__eq__(other)

    __hash__ = FeatureView.__hash__  # defining __eq__ would otherwise make views unhashable


def _view(name: str, entities, source, ttl: timedelta, description: str) -> FeatureView:
    return DeclaredFeatureView(
        name=name,
        entities=entities,
        ttl=ttl,
        schema=fields_of(name),
        source=source,
        online=True,
        description=description,
        owner=OWNER,
        tags={"table": (source.batch_source if isinstance(source, PushSource) else source).name},
    )


player_game_summary = _view(
    "player_game_summary", [player], player_game_summary_source, timedelta(days=10),
    "The player's most recent game (known from 06:00 UTC the day after it was played).",
)

upcoming_player_game_context = _view(
    "upcoming_player_game_context", [player], upcoming_player_game_context_source, timedelta(days=1),
    "Rolling form and schedule context of the player's game of the day, built only from earlier games.",
)

player_composite_factors = _view(
    "player_composite_factors", [player], player_composite_factors_source, timedelta(days=1),
    "Composite factors (season usage, usage spike, form ratios) of the player's game of the day.",
)

player_points_line = _view(
    "player_points_line", [player, game], player_points_line_push, timedelta(hours=18),
    "Consensus (median across books) points line for the player's game, at the latest snapshot.",
)

player_stat_form = _view(
    "player_stat_form", [player], player_stat_form_source, timedelta(days=1),
    "Every market stat's rolling form, per-minute rate and volatility, minutes form and the opponent's "
    "allowance, for the player's game of the day, built only from earlier games.",
)

player_availability = _view(
    "player_availability", [player], player_availability_source, timedelta(days=1),
    "Who of the team's recent rotation missed its last game, the minutes and usage they leave, and the "
    "player's own missed games: proxies for the injury report, from earlier box scores only.",
)

player_season_prior = _view(
    "player_season_prior", [player], player_season_prior_source, timedelta(days=1),
    "The player's figures of the previous season (games, minutes, every market stat's mean, usage rate), "
    "for the player's game of the day: what his first games of a season cannot say yet.",
)

player_prop_lines = _view(
    "player_prop_lines", [player, game], player_prop_lines_source, timedelta(hours=18),
    "Consensus line and no-vig over probability of every modelled market for the player's game, at the "
    "latest snapshot.",
)

FEATURE_VIEWS: dict[str, FeatureView] = {
    v.name: v
    for v in (player_game_summary, upcoming_player_game_context, player_composite_factors, player_stat_form,
              player_availability, player_season_prior, player_points_line, player_prop_lines)
}
