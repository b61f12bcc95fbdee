"""The season every benchmark measures on: the real 2025-26 data when it lies beside the
repository (../shared/data/nba_2025_26), else the generated sample season.

``build_warehouse`` imports (or generates) and transforms it into the current
NBAFS_DATA_DIR; ``apply`` runs `feast apply` from the repo root, as a user would.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nbafs import paths

REAL_DATA = paths.REPO_ROOT.parent / "shared" / "data" / "nba_2025_26"


def default_kind() -> str:
    """"real" when the real season is present, else "sample"."""
    return "real" if (REAL_DATA / "realgm_player_game_logs.csv").exists() else "sample"


def build_warehouse(kind: str) -> str:
    """Import or generate the season and transform it; returns a label for the tables."""
    from transformations import runner

    if kind == "real":
        from warehouse.importers import import_paths

        import_paths([REAL_DATA], progress=None)
        label = "real 2025-26 season (../shared/data)"
    else:
        from warehouse import sample_season

        sample_season.generate(season="2025-26", seed=0, n_teams=30, games_per_team=82)
        label = "generated 2025-26 season (30 teams x 82 games, seed 0)"
    runner.run(progress=None)
    return label


def apply() -> None:
    """`feast apply` from the repo root into the current NBAFS_DATA_DIR."""
    subprocess.run(
        [str(Path(sys.executable).parent / "feast"), "apply"], cwd=paths.REPO_ROOT, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
