"""Text that is costly to compute and a pure function of its inputs, kept under <data dir>/cache/.

    text = disk_cache.text("duckdb_sql", (sqlglot.__version__, module_source, sql), lambda: transpile(sql))

The file's name is a digest of every input, so a changed input is a miss, never a stale
hit; a file that cannot be read is recomputed. Writes are atomic (a temporary file
renamed over the name), so concurrent threads and processes at worst compute it twice;
where the folder cannot be written the text is computed each time. Deleting the folder
is always safe.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from typing import Callable, Iterable

from nbafs import paths


def text(kind: str, inputs: Iterable[str], compute: Callable[[], str]) -> str:
    """``compute()``, or what it returned before for the same ``kind`` and ``inputs``."""
    key = hashlib.sha256("\0".join(inputs).encode()).hexdigest()[:32]
    path = paths.data_dir() / "cache" / kind / key
    try:
        return path.read_text()
    except OSError:
        pass
    value = compute()
    tmp = path.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(value)
        tmp.replace(path)
    except OSError:  # a data dir we may not write: computed each time, as without a cache
        with contextlib.suppress(OSError):
            tmp.unlink()
    return value
