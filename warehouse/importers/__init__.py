"""Importers of real data files into the raw tables (``nbafs import PATH...``).

One module per file format, each declaring its ``FORMAT`` (the columns that recognize
it) and a ``load(path, rows, run)`` that validates the file and stages its rows:

- ``nbacom_team_logs``: NBA.com team game logs -> nba_raw.team_boxscores, nba_raw.schedule
  (they define the games: game ids, home/away, opponents);
- ``realgm``: RealGM player game logs -> nba_raw.bdl_player_boxscores (full box scores);
- ``nbacom_player_logs``: NBA.com player game logs -> a cross-check of the RealGM rows
  (they lack FGA and TOV, so they write nothing);
- ``odds_api``: the Odds API player props -> nba_raw.odds_api_player_points_props (points)
  and nba_raw.odds_api_player_props (every other market), and the schedule's tip-off times.

``detect`` recognizes a file's format from its columns, ``run.import_paths`` runs an
import (validate everything, then write), ``cli`` is the command, ``common`` holds the
strict parsers and the per-file report.
"""
from warehouse.importers.run import ImportReport, import_paths

__all__ = ["ImportReport", "import_paths"]
