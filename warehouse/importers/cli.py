"""Import real data files or folders into the raw tables.

    nbafs import ../shared/data/nba_2025_26            # a whole folder
    nbafs import team_logs.csv realgm_logs.csv         # or files
    nbafs import --dry-run FOLDER                      # validate only, write nothing

Each file's format is recognized from its columns, not its name:

  NBA.com team game logs      -> nba_raw.team_boxscores, nba_raw.schedule
                                 (regular season only; they define the game ids)
  RealGM player game logs     -> nba_raw.bdl_player_boxscores
                                 (NBA regular-season rows matched to the schedule's games)
  NBA.com player game logs    -> cross-check of the RealGM rows (no FGA/TOV: written nowhere)
  Odds API player props (.csv or .csv.gz; the points file or the all-markets file)
                              -> nba_raw.odds_api_player_points_props (points),
                                 nba_raw.odds_api_player_props (every other market),
                                 schedule tip-off times. The two files hold the same
                                 points rows: import one of them, never both.

The team logs define the games, so they are imported first; player logs or lines
imported alone attach to the schedule already in the warehouse. Everything is validated
before anything is written: a bad file writes nothing, and the message names the file,
the line or column, what was expected and what to do. Importing the same files again
gives the same tables (whole game-date partitions are replaced). Files in a folder that
match no format are skipped with a line saying why.

Times: the files carry no write time, so created_at is when each row would have been
known (box scores: 06:00 UTC the day after the game; lines: their snapshot time;
schedule: 1 August before the season); a wall-clock import time would hide the whole
history from point-in-time training retrieval. Data go to NBAFS_DATA_DIR (default data/).
"""
from __future__ import annotations

import argparse

from warehouse.importers.run import import_paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files (.csv, .csv.gz) or folders to import")
    parser.add_argument("--dry-run", action="store_true", help="read and validate everything, write nothing")


def run(args: argparse.Namespace) -> int:
    import_paths(args.paths, dry_run=args.dry_run, progress=print)
    return 0
