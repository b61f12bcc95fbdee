"""Feast definitions only: entities, data sources, feature views, on-demand views, feature services."""
