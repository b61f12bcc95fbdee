"""materialize: backfills that cannot go silently wrong.

- ``engine``      the batch engine ``feast materialize`` uses (feature_store.yaml): chunks in
                  time order, gates before each write, checkpoints, monotonic writes
- ``gates``       quality gates from feature_repo/catalog.py, judged per game date
- ``preflight``   every column the SQL and the feature views read exists, typed (also on apply)
- ``checkpoint``  per-view resume points (files under NBAFS_DATA_DIR/checkpoints/, or GCS objects)
- ``lock``        one writer per store (flock on NBAFS_DATA_DIR/locks/store.lock, or a GCS lease)
- ``state``       picks the checkpoints' and the lock's place from the profile
- ``progress``    one display: rich bars on a terminal, plain lines elsewhere
- ``backfill``    ``nbafs backfill``: preflight, transform, materialize, verify, report
- ``report``      the backfill report: screen table, JSON, HTML with per-date charts
- ``verify``      ``nbafs verify``: per-date checks of the derived tables

How it looks from the user's side: docs/backfill.md.
"""
