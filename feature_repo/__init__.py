"""Feast definitions only: entities, data sources, feature views, on-demand views, feature services.

- ``catalog.py``: every served feature declared once (type, view, description, gate) and
  every service's order (``SERVICES``, one per market of warehouse/markets.py). Pure data;
  every other module derives from it.
- ``entities.py``: ``player`` (player_lookup) and ``game`` (game_id, the line views only).
- ``data_sources.py``: one source per warehouse table with an event time; FileSource
  locally, BigQuerySource in the prod profile (``NBAFS_PROFILE``, nbafs/profile.py).
- ``feature_views.py``: the batch views and their ttls.
- ``on_demand_features.py``: ``usage_spike`` and ``line_relative`` (logic in
  transformations/on_demand.py).
- ``feature_services.py``: ``player_points_v1`` and one service per other market.
- ``project.py``: the Feast project.

``feast apply`` (run from the repo root) imports only this package (.feastignore).
"""
