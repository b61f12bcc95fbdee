"""Build a point-in-time training set through the feature service player_points_v1.

    nbafs training-set --start 2025-11-13 --end 2026-01-30 --out train.parquet

One row per (player, game) he played (minutes > 0) with game_date in --start..--end,
asked at noon US/Eastern on the game date (``nbafs.timeline.noon_eastern``): the time a
game-day slate is predicted, so the row sees exactly what a prediction would have seen.

Columns, in this order:

    player_lookup, game_id, game_date, event_timestamp   the entity row
    line_offered                                         the line passed to the request source
    the 17 features of PLAYER_POINTS_V1, in its order    (feature_repo/catalog.py; index 8 = usage_spike_score)
    points                                               the label: points scored in that game

How the values are found (Python API: ``build_training_set``):

- Features: ``FeatureStore.get_historical_features(features=<player_points_v1>,
  filter_by_created_timestamp=True)``: for each row, the latest source row whose
  event_timestamp AND created_at are both <= the row's time, within the view's ttl. A
  late correction (a row rewritten later) is invisible before it was written.
- ``line_offered`` (the request field of the on-demand view ``line_relative``): at
  prediction time it is the line the book shows. For training, it is the consensus line
  known at the row's time, fetched by a first point-in-time retrieval of
  ``player_points_line:points_line`` (NULL when no book quoted the player yet). So
  ``points_avg_last_5_minus_line`` is what a prediction at that time would have computed.
- Feast returns a service's features grouped by view; the columns are reordered to the
  declared order here.
- The label comes from ``nba_analytics.player_game_summary`` for that exact game, joined
  on (player_lookup, game_id) (a NULL label stays NULL: the source lost the points of a
  few rows). Entity rows and labels are read through the active profile's warehouse
  (``warehouse.engine``: DuckDB locally, BigQuery in prod).

Every input row gives one output row, in input order; duplicated input rows stay
duplicated. Results are attached to the entity rows by an explicit row key
(``ROW_KEY``, sent with the request and checked on return), never by position. Integer features are pandas ``Int64`` and booleans ``boolean`` (nullable:
NULL stays NULL, never 0 or False); floats are float64 with NaN for NULL.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from feature_repo import catalog
from nbafs import profile, timeline
from nbafs.errors import UserError

FEATURE_SERVICE = "player_points_v1"
ENTITY_COLUMNS = ("player_lookup", "game_id", "game_date", "event_timestamp")
LINE_OFFERED = "line_offered"
LABEL = "points"
LINE_FEATURE_REF = "player_points_line:points_line"
ROW_KEY = "nbafs_row"
"""The explicit row key sent with every entity row and used to attach the results back.

No offline store promises to return rows in the entity dataframe's order (BigQuery
returns them in any order), so results are joined on this key, never by position."""


def feature_columns() -> list[str]:
    """The feature columns of a training set, in the service's declared order."""
    return list(catalog.PLAYER_POINTS_V1)


def output_columns() -> list[str]:
    return [*ENTITY_COLUMNS, LINE_OFFERED, *feature_columns(), LABEL]


# --- entity rows -------------------------------------------------------------------------


def entity_rows_for_range(start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """Every played player-game (minutes > 0) with game_date in start..end (inclusive; None
    = unbounded), from the warehouse's ``nba_analytics.player_game_summary``.

    Columns player_lookup, game_id, game_date, event_timestamp (noon US/Eastern on the
    game date, UTC), sorted by game_date, game_id, player_lookup.
    """
    from warehouse import engine
    from warehouse.schema import PLAYER_GAME_SUMMARY

    where = ["minutes > 0"]
    params: dict[str, Any] = {}
    if start is not None:
        where.append("game_date >= @start")
        params["start"] = start
    if end is not None:
        where.append("game_date <= @end")
        params["end"] = end
    table = engine.current().query(
        f"SELECT player_lookup, game_id, game_date FROM {PLAYER_GAME_SUMMARY.fqn} WHERE {' AND '.join(where)}",
        params,
    )
    df = table.to_pandas()
    df["game_date"] = pd.to_datetime(df["game_date"]).dt.date
    df = df.sort_values(["game_date", "game_id", "player_lookup"], kind="stable").reset_index(drop=True)
    return with_event_timestamps(df)


def with_event_timestamps(rows: pd.DataFrame) -> pd.DataFrame:
    """Add ``event_timestamp`` = noon US/Eastern on each row's game_date (UTC)."""
    rows = rows.copy()
    dates = pd.to_datetime(rows["game_date"]).dt.date
    noon = {d: timeline.noon_eastern(d) for d in set(dates)}
    rows["event_timestamp"] = pd.to_datetime(dates.map(noon), utc=True)
    return rows


def _check_entity_rows(rows: pd.DataFrame) -> pd.DataFrame:
    needed = ["player_lookup", "game_id"]
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise UserError(
            f"training entity rows: missing column(s) {', '.join(missing)}; expected player_lookup, game_id and "
            f"game_date or event_timestamp (got {', '.join(map(str, rows.columns))})."
        )
    if "event_timestamp" not in rows.columns:
        if "game_date" not in rows.columns:
            raise UserError(
                "training entity rows: need event_timestamp or game_date (then the row is asked at noon "
                "US/Eastern on game_date)."
            )
        rows = with_event_timestamps(rows)
    rows = rows.reset_index(drop=True).copy()
    rows["event_timestamp"] = pd.to_datetime(rows["event_timestamp"], utc=True)
    if rows["event_timestamp"].isna().any():
        bad = int(rows["event_timestamp"].isna().idxmax())
        raise UserError(f"training entity rows: row {bad} has no event_timestamp; every row needs a time.")
    if "game_date" not in rows.columns:
        rows["game_date"] = rows["event_timestamp"].dt.tz_convert(timeline.EASTERN).dt.date
    return rows


# --- retrieval ----------------------------------------------------------------------------


def _service(store):
    from feast.errors import FeatureServiceNotFoundException

    try:
        return store.get_feature_service(FEATURE_SERVICE)
    except FeatureServiceNotFoundException:
        raise UserError(
            f"feature service {FEATURE_SERVICE!r} is not in the registry of {store.config.project}: run "
            f"`feast apply` from the repository root first (NBAFS_DATA_DIR selects which store)."
        ) from None


def consensus_lines(store, rows: pd.DataFrame) -> pd.Series:
    """The consensus points line known at each row's time for its game (NaN when none)."""
    entity = rows[["player_lookup", "game_id", "event_timestamp"]]
    out = retrieve(store, entity, [LINE_FEATURE_REF])
    return pd.Series(out.column("points_line").to_pandas(), index=rows.index, dtype="float64")


def retrieve(store, entity: pd.DataFrame, features) -> pa.Table:
    """``get_historical_features`` for ``entity``, one result row per entity row, in its order.

    Each row is sent with its position as ``ROW_KEY``; the result is put back in order by
    that key, whatever order the offline store returned, and a key missing, repeated or
    unknown is an error instead of a feature vector attached to the wrong row.
    """
    request = entity.reset_index(drop=True).copy()
    request[ROW_KEY] = pd.array(range(len(request)), dtype="int64")
    table = store.get_historical_features(
        entity_df=request, features=features, filter_by_created_timestamp=True
    ).to_arrow()
    keys = table.column(ROW_KEY).to_numpy(zero_copy_only=False).astype("int64")
    counts = np.bincount(keys, minlength=len(request)) if len(keys) else np.zeros(len(request), dtype="int64")
    if table.num_rows != len(request) or len(counts) != len(request) or (counts != 1).any():
        lost = np.flatnonzero(counts[: len(request)] == 0)[:5].tolist()
        raise UserError(
            f"the offline store ({store.config.offline_store.type}) returned {table.num_rows} rows for "
            f"{len(request)} entity rows (row keys missing: {lost or 'none'}; repeated or unknown: "
            f"{int((counts > 1).sum()) + max(0, len(counts) - len(request))}); expected exactly one per row. "
            f"Nothing was attached."
        )
    order = np.empty(len(request), dtype="int64")
    order[keys] = np.arange(len(keys))
    return table.take(pa.array(order)).drop_columns([ROW_KEY])


_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def build_training_set(entity_rows: pd.DataFrame, store=None, with_label: bool = True) -> pd.DataFrame:
    """Point-in-time features of ``player_points_v1`` for each entity row (see module docstring).

    ``entity_rows``: player_lookup, game_id and event_timestamp (or game_date: asked at noon
    US/Eastern that day). Returns one row per input row, in input order, with the columns of
    :func:`output_columns` (without ``points`` when ``with_label`` is False).
    """
    store = store or profile.feature_store()
    rows = _check_entity_rows(entity_rows)
    service = _service(store)
    keys = rows[list(ENTITY_COLUMNS)].copy()
    request = keys[["player_lookup", "game_id", "event_timestamp"]].copy()
    request[LINE_OFFERED] = consensus_lines(store, rows) if len(rows) else pd.Series(dtype="float64")
    table = retrieve(store, request, service)
    missing = [c for c in feature_columns() if c not in table.column_names]
    if missing:
        raise UserError(
            f"feature service {FEATURE_SERVICE!r} in the registry lacks {', '.join(missing)}: the registry is "
            f"older than feature_repo/catalog.py. Run `feast apply`."
        )
    features = table.select(feature_columns()).to_pandas(types_mapper=_NULLABLE.get)
    out = pd.concat(
        [keys.reset_index(drop=True), request[[LINE_OFFERED]].reset_index(drop=True), features], axis=1
    )
    if with_label:
        out[LABEL] = labels(rows)
    return out


def labels(rows: pd.DataFrame) -> pd.Series:
    """Points scored by each row's player in its game (nullable Int64; NULL when unknown).

    Joined on (player_lookup, game_id), never by position.
    """
    from warehouse import engine
    from warehouse.schema import PLAYER_GAME_SUMMARY

    keys = ["player_lookup", "game_id"]
    got = engine.current().read(PLAYER_GAME_SUMMARY, columns=[*keys, LABEL])
    found = got.to_pandas(types_mapper=_NULLABLE.get)
    wanted = pd.DataFrame({k: rows[k].astype("string").to_numpy() for k in keys})
    found = found.astype({k: "string" for k in keys})
    merged = wanted.merge(found, on=keys, how="left", validate="many_to_one")
    return pd.Series(merged[LABEL].to_numpy(), index=rows.index, name=LABEL, dtype=pd.Int64Dtype())


# --- command line ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=timeline.argparse_date, default=None,
                        help="first game date (YYYY-MM-DD); default: the first game in the warehouse")
    parser.add_argument("--end", type=timeline.argparse_date, default=None,
                        help="last game date (YYYY-MM-DD, inclusive); default: the last game in the warehouse")
    parser.add_argument("--out", type=Path, required=True, help="parquet file to write")


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    if args.start and args.end and args.end < args.start:
        raise UserError(f"--end {args.end} is before --start {args.start}; give the first date first.")
    rows = entity_rows_for_range(args.start, args.end)
    if rows.empty:
        raise UserError(
            f"no played player-game in nba_analytics.player_game_summary for {args.start or 'the start'}.."
            f"{args.end or 'the end'}: import or generate a season and run `nbafs transform` first."
        )
    print(f"{len(rows):,} player-games, {rows['game_date'].min()} .. {rows['game_date'].max()}; retrieving ...",
          flush=True)
    out = build_training_set(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(out, preserve_index=False), args.out)
    print(f"wrote {len(out):,} rows x {out.shape[1]} columns to {args.out} in {time.perf_counter() - t0:.1f} s")
    print("populated share per feature (NULL stays NULL):")
    for i, name in enumerate(feature_columns()):
        print(f"  [{i:2d}] {name:<30} {out[name].notna().mean():6.1%}")
    print(f"  label {LABEL:<28} {out[LABEL].notna().mean():6.1%}")
    return 0
