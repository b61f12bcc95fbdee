"""Errors a user can meet and fix. The CLI prints them without a traceback.

Every message names the file or table, the column or row, what was expected, and what
to do.
"""


class UserError(Exception):
    """Base class for every error meant for the person at the keyboard."""


def clean_user_errors_under_feast_cli() -> None:
    """Under the ``feast`` command, print our UserErrors without a traceback (once per process).

    Feast's CLI lets exceptions reach Python's default handler; a failing gate or an unset
    variable of the yaml is an answer for the user, not a crash. Other exceptions keep
    their traceback. Called where the feast CLI first imports our code (the yaml's store
    classes in feast_plugins/, the batch engine); a no-op in any other program.
    """
    import os
    import sys

    if os.path.basename(sys.argv[0] if sys.argv else "") != "feast" or getattr(sys.excepthook, "_nbafs", False):
        return
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if isinstance(exc, UserError):
            print(f"feast: error: {exc}", file=sys.stderr)
            return
        previous(exc_type, exc, tb)

    hook._nbafs = True  # type: ignore[attr-defined]
    sys.excepthook = hook
