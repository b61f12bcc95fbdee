"""Errors a user can meet and fix. The CLI prints them without a traceback.

Every message names the file or table, the column or row, what was expected, and what
to do.
"""


class UserError(Exception):
    """Base class for every error meant for the person at the keyboard."""
