"""Checks for the ``${VARIABLE}`` values of ``feature_store.prod.yaml``.

Feast expands the yaml with ``os.path.expandvars``, which leaves an unset variable as
the literal text ``${NAME}``; a bucket or project named ``${NBAFS_GCS_BUCKET}`` would
then fail far away with a confusing message. The store classes call :func:`expanded`
on such values so an unset variable is one clear error naming it.
"""
from __future__ import annotations

import re

from nbafs.errors import UserError

_UNEXPANDED = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def expanded(value: str, where: str) -> str:
    """``value`` unless it still holds an unset ``${VAR}``; then a UserError naming VAR."""
    match = _UNEXPANDED.search(value or "")
    if match:
        raise UserError(
            f"{where} is {value!r}: the environment variable {match.group(1)} is not set. Set it (see "
            f"feature_store.prod.yaml and the README's production section), or run "
            f'`eval "$(nbafs stack up)"` for the local stand-ins.'
        )
    return value
