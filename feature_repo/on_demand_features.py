"""On-demand feature views: features computed at request time, online and in training.

- ``usage_spike``: ``usage_spike_score`` from the served ``avg_usage_rate_last_7_games``
  (upcoming_player_game_context) and ``season_usage_rate`` (player_composite_factors),
  so a prediction always uses the freshest ratio of the two values it is served with.
  The batch SQL writes the same score to ``player_composite_factors.usage_spike_score``;
  ``tests/test_on_demand_parity.py`` holds the two equal.
- ``line_relative``: ``points_avg_last_5_minus_line`` from the request field
  ``line_offered`` (the line the book offers when the prediction is asked; NULL when
  none). Training sets pass the consensus line known at the row's time
  (``serving/training_set.py``).

The logic lives in ``transformations/on_demand.py``. Feast stores each function's source
text in the registry and rebuilds it from there, so the bodies import what they use.
"""
from __future__ import annotations

from feast import Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64

from feature_repo import catalog
from feature_repo.feature_views import (
    OWNER,
    FEAST_TYPES,
    player_composite_factors,
    upcoming_player_game_context,
)

# Output fields carry only name and type: Feast checks the declared schema against the
# fields it infers by running the function, and inferred fields have no description.
# The descriptions live on the views and in feature_repo/catalog.py.


def _outputs(view: str) -> list[Field]:
    return [Field(name=f.name, dtype=FEAST_TYPES[f.dtype]) for f in catalog.FEATURES
            if f.request_time_view == view or f.view == view]


line_offered_request = RequestSource(
    name="line_offered_request",
    schema=[Field(name="line_offered", dtype=Float64, description="Points line offered at request time; NULL when none")],
    description="The points line the book offers when the prediction is asked",
    owner=OWNER,
)


@on_demand_feature_view(
    name="usage_spike",
    sources=[
        upcoming_player_game_context[["avg_usage_rate_last_7_games"]],
        player_composite_factors[["season_usage_rate"]],
    ],
    schema=_outputs("usage_spike"),
    mode="python",
    description="usage_spike_score = avg_usage_rate_last_7_games / season_usage_rate, recomputed at request time",
    owner=OWNER,
    tags={"logic": "transformations/on_demand.py:usage_spike_score"},
)
def usage_spike(inputs: dict) -> dict:
    from transformations import on_demand

    return {
        "usage_spike_score": on_demand.usage_spike_score(
            inputs["avg_usage_rate_last_7_games"], inputs["season_usage_rate"]
        )
    }


@on_demand_feature_view(
    name="line_relative",
    sources=[upcoming_player_game_context[["points_avg_last_5"]], line_offered_request],
    schema=_outputs("line_relative"),
    mode="python",
    description="points_avg_last_5 minus the line offered at request time; NULL when no line",
    owner=OWNER,
    tags={"logic": "transformations/on_demand.py:points_avg_last_5_minus_line"},
)
def line_relative(inputs: dict) -> dict:
    from transformations import on_demand

    return {
        "points_avg_last_5_minus_line": on_demand.points_avg_last_5_minus_line(
            inputs["points_avg_last_5"], inputs["line_offered"]
        )
    }
