"""``nbafs``: the project's commands beside Feast's own (``feast apply``, ``feast materialize``...).

Each subcommand lives in the module that owns the work; that module exposes
``add_arguments(parser)`` and ``run(args) -> int``. This file only lists them, so the
list below is the map of the command line. Modules are imported when their command
runs (``--help`` stays fast).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from nbafs.errors import UserError

# name, module, one-line help. The module's docstring is the command's long help.
COMMANDS: list[tuple[str, str, str]] = [
    ("generate", "warehouse.sample_season", "generate a synthetic sample season into the raw tables"),
    ("import", "warehouse.importers.cli", "import real data files or folders into the raw tables"),
    ("query", "warehouse.query", "run any SQL on the warehouse (DuckDB locally, BigQuery in prod)"),
    ("compact", "warehouse.compact", "rewrite a warehouse of one file per game date as one file per month"),
    ("schema", "warehouse.ddl", "print the declared tables as BigQuery DDL or a Markdown table"),
    ("docs", "nbafs.docs", "write docs/tables.md and docs/features.md from the declarations"),
    ("transform", "transformations.runner", "run the phase transformations for a date range"),
    ("verify", "materialize.verify", "per-date checks of the derived tables (coverage, usage_spike_score)"),
    ("backfill", "materialize.backfill", "transform + materialize + verify a date range, resumable"),
    ("training-set", "serving.training_set", "build a point-in-time training set through the feature service"),
    ("online", "serving.online", "fetch the online feature vectors of a game-day slate"),
    ("push-lines", "serving.push_lines", "push a new betting-lines snapshot file to the online and offline stores"),
    ("consistency", "serving.consistency", "replay logged online requests through historical retrieval and count mismatches"),
    ("train", "model.train", "train a model per market (points, rebounds, assists, threes, pra) and judge it against the books"),
    ("predict", "model.predict", "predict every market of a game-day slate from the online store, sorted by edge"),
    ("skew", "model.skew", "compare online vectors with historical retrieval at the same time"),
    ("demo", "nbafs.demo", "the whole main job end to end, on a sample season or real data"),
    ("stack", "nbafs.stack", "start, stop or show the local stand-ins for production (BigQuery, GCS, Redis)"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbafs",
        description=(
            "NBA player-prop feature store. Feast's own commands (feast apply, feast plan, "
            "feast materialize START END) work from the repo root; nbafs adds the rest. "
            "Every command honours NBAFS_DATA_DIR (default: data/ at the repo root)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name, help_text in COMMANDS:
        p = sub.add_parser(
            name, help=help_text, description=help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(_module=module_name)
        # Arguments are declared by the owning module; import it only when this command
        # (or its --help) is asked for.
        if _wants(name):
            module = importlib.import_module(module_name)
            if module.__doc__:
                p.description = module.__doc__
            module.add_arguments(p)
    return parser


def _wants(name: str) -> bool:
    argv = sys.argv[1:]
    return bool(argv) and argv[0] == name


def main(argv: list[str] | None = None) -> int:
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:])
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except UserError as exc:
        print(f"nbafs {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
