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

# Rows per materialization chunk unless the yaml (max_rows_per_chunk) or NBAFS_CHUNK_ROWS
# says otherwise: each chunk costs one offline read and one online transaction per view
# whatever its size. Here, not in engine.py, so `nbafs backfill --help` need not import Feast.
DEFAULT_MAX_ROWS_PER_CHUNK = 200_000
