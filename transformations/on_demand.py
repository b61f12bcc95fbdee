"""Request-time feature logic: the Python functions the on-demand feature views call.

Each function works on columns (lists of equal length, ``None`` for missing) so one call
serves a whole training set or an online slate. Missing in, missing out: a value that
cannot be computed is ``None`` (NULL), never 0.

- :func:`usage_spike_score` is the same formula as the batch SQL that writes
  ``nba_precompute.player_composite_factors.usage_spike_score``
  (``SAFE_DIVIDE(avg_usage_rate_last_7_games, season_usage_rate)``);
  ``tests/test_on_demand_parity.py`` holds the two equal on the same rows.
- :func:`points_avg_last_5_minus_line` compares the player's recent scoring with the
  line offered at request time.
"""
from __future__ import annotations

from typing import Optional, Sequence

Number = Optional[float]


def usage_spike_score(avg_usage_rate_last_7_games: Sequence[Number], season_usage_rate: Sequence[Number]) -> list[Number]:
    """``avg_usage_rate_last_7_games / season_usage_rate`` per row: about 1.0 for a steady
    player, above 1 when his recent usage rises; None when either side is missing or the
    season rate is 0 (BigQuery's ``SAFE_DIVIDE``)."""
    return [
        a / s if (a is not None and s is not None and a == a and s == s and s != 0) else None
        for a, s in zip(avg_usage_rate_last_7_games, season_usage_rate, strict=True)
    ]


def points_avg_last_5_minus_line(points_avg_last_5: Sequence[Number], line_offered: Sequence[Number]) -> list[Number]:
    """``points_avg_last_5 - line_offered`` per row; None when no line is offered (or no
    recent games)."""
    return [
        float(p - line) if (p is not None and line is not None and p == p and line == line) else None
        for p, line in zip(points_avg_last_5, line_offered, strict=True)
    ]

