"""nbafs/disk_cache.py: a changed input is a miss, never a stale hit; concurrent writers are safe.

What it protects: the transpiled DuckDB SQL and the columns each SQL file reads are kept
on disk between processes; a cache that served an old SQL text after an edit would run
yesterday's transformation without a word.
"""
from __future__ import annotations

import threading

from nbafs import disk_cache, paths


def test_same_inputs_hit_and_any_changed_input_misses(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    calls = []

    def compute(value):
        def run():
            calls.append(value)
            return value
        return run

    assert disk_cache.text("k", ("sqlglot 1", "SELECT 1"), compute("a")) == "a"
    assert disk_cache.text("k", ("sqlglot 1", "SELECT 1"), compute("b")) == "a"  # hit: computed once
    assert disk_cache.text("k", ("sqlglot 1", "SELECT 2"), compute("c")) == "c"  # the SQL changed
    assert disk_cache.text("k", ("sqlglot 2", "SELECT 1"), compute("d")) == "d"  # the library changed
    assert disk_cache.text("other", ("sqlglot 1", "SELECT 1"), compute("e")) == "e"  # another kind
    assert disk_cache.text("k", ("sqlglot 1SELECT 1",), compute("f")) == "f"  # inputs are not just concatenated
    assert calls == ["a", "c", "d", "e", "f"]
    for f in (tmp_path / "cache" / "k").iterdir():
        f.unlink()
    assert disk_cache.text("k", ("sqlglot 1", "SELECT 1"), compute("g")) == "g"  # a deleted cache recomputes


def test_threads_computing_the_same_entry_all_get_it_and_leave_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    start = threading.Barrier(8)
    got, errors = [], []

    def worker():
        start.wait()
        try:
            got.append(disk_cache.text("k", ("same",), lambda: "x" * 100_000))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and got == ["x" * 100_000] * 8
    assert [p.name.startswith(".") for p in (tmp_path / "cache" / "k").iterdir()] == [False]


def test_a_cache_folder_that_cannot_be_written_computes_each_time(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    (tmp_path / "cache").write_text("a file where the folder would be")
    calls = []
    for _ in range(2):
        assert disk_cache.text("k", ("x",), lambda: calls.append(1) or "v") == "v"
    assert calls == [1, 1]
