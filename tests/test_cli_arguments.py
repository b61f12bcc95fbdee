"""A mistyped option value is a one-line usage error, never a traceback.

argparse turns only ArgumentTypeError, ValueError and TypeError raised by a ``type=``
function into a usage error (usage, then ``nbafs CMD: error: argument --x: ...``,
exit 2); anything else (e.g. our UserError) escapes ``parse_args`` as a traceback.
Dates and times use ``nbafs.timeline.argparse_date`` / ``argparse_time``.
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from nbafs import cli, paths

BIN = Path(sys.executable).parent
BAD_VALUES = ("2025-13-01", "tomorrow", "2026-02-30T25:00:00Z")


def _typed_options():
    """(command, option string, type function) of every option of every nbafs command with a type=."""
    out = []
    for name, module_name, _ in cli.COMMANDS:
        parser = argparse.ArgumentParser(prog=f"nbafs {name}")
        importlib.import_module(module_name).add_arguments(parser)
        for action in parser._actions:
            if callable(action.type) and action.option_strings:
                out.append((name, action.option_strings[-1], action.type))
    return out


def test_every_typed_option_rejects_a_bad_value_the_way_argparse_reports_cleanly():
    typed = _typed_options()
    dates = [(c, o) for c, o, t in typed if t.__name__ in ("argparse_date", "argparse_time")]
    assert len(dates) >= 10, dates  # the date options of transform, verify, backfill, train, predict, ...
    for command, option, type_fn in typed:
        for bad in BAD_VALUES:
            try:
                type_fn(bad)
            except (argparse.ArgumentTypeError, ValueError, TypeError):
                pass
            except Exception as exc:  # noqa: BLE001 - this is what the test is about
                pytest.fail(f"nbafs {command} {option} {bad!r}: {type(exc).__name__} would print a traceback: {exc}")


def test_bad_date_to_nbafs_predict_is_one_clean_error_line(tmp_path):
    proc = subprocess.run(
        [str(BIN / "nbafs"), "predict", "--date", "2025-13-01"],
        cwd=paths.REPO_ROOT, env={"PATH": str(BIN), paths.DATA_DIR_ENV: str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert errors == ["nbafs predict: error: argument --date: expected a date as YYYY-MM-DD, got '2025-13-01'"]


@pytest.mark.parametrize("argv, message", [
    (["backfill", "--start", "2025-11-31", "--end", "2025-12-01"],
     "argument --start: expected a date as YYYY-MM-DD, got '2025-11-31'"),
    (["skew", "--at", "noon"], "argument --at: expected an ISO 8601 time such as 2026-02-10T17:00:00Z, got 'noon'"),
])
def test_bad_date_or_time_in_process_is_a_usage_error(argv, message, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["nbafs", *argv])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"nbafs {argv[0]}: error: {message}"
