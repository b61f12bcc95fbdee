"""Build a point-in-time training set through a feature service (one per market).

    nbafs training-set --start 2025-11-13 --end 2026-01-30 --out train.parquet [--market rebounds]

One row per (player, game) he played (minutes > 0) with game_date in --start..--end,
asked at noon US/Eastern on the game date (``nbafs.timeline.noon_eastern``): the time a
game-day slate is predicted, so the row sees exactly what a prediction would have seen.
The service is ``player_points_v1`` unless ``--service`` or ``--market`` names another of
``feature_repo.catalog.SERVICES``.

Columns, in this order:

    player_lookup, game_id, game_date, event_timestamp   the entity row
    line_offered                                         the request field, only for services serving
                                                         points_avg_last_5_minus_line (player_points_v1)
    the service's features, in its declared order        (catalog.SERVICES; points: index 8 = usage_spike_score)
    the label, named after the market's stat             points, rebounds, assists, threes_made or pra

How the values are found (Python API: ``build_training_set(rows, service=...)``, or
``build_training_sets(rows, services)`` for several services from one retrieval):

- Features: ``FeatureStore.get_historical_features(filter_by_created_timestamp=True)`` on the
  service's features: for each row, the latest source row whose event_timestamp AND
  created_at are both <= the row's time, within the view's ttl. A late correction (a row
  rewritten later) is invisible before it was written.
- ``line_offered`` (the request field of the on-demand view ``line_relative``): at
  prediction time it is the line the book shows. For training, it is the consensus line
  known at the row's time, fetched by a first point-in-time retrieval of
  ``player_points_line:points_line`` (NULL when no book quoted the player yet). So
  ``points_avg_last_5_minus_line`` is what a prediction at that time would have computed.
- Feast returns features grouped by view; the columns are reordered to the declared order.
- The label is the market's stat in ``nba_analytics.player_game_summary`` for that exact
  game (``warehouse/markets.py`` ``box_score`` columns summed; NULL when any of them is
  NULL: the source lost a few rows' stats), joined on (player_lookup, game_id). Entity
  rows and labels are read through the active profile's warehouse (``warehouse.engine``).

Every input row gives one output row, in input order; duplicated input rows stay
duplicated. Results are attached to the entity rows by an explicit row key
(``ROW_KEY``, sent with the request and checked on return), never by position. Integer
features are pandas ``Int64`` and booleans ``boolean`` (nullable: NULL stays NULL, never 0
or False); floats are float64 with NaN for NULL.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from feature_repo import catalog
from nbafs import profile, timeline
from nbafs.errors import UserError
from warehouse.markets import MARKETS, Market
from warehouse.markets import market as market_named

FEATURE_SERVICE = "player_points_v1"
ENTITY_COLUMNS = ("player_lookup", "game_id", "game_date", "event_timestamp")
LINE_OFFERED = "line_offered"
LINE_RELATIVE = "points_avg_last_5_minus_line"  # the on-demand feature that reads line_offered
LABEL = "points"  # the points service's label (label_column(service) for any)
LINE_FEATURE_REF = "player_points_line:points_line"
ROW_KEY = "nbafs_row"
"""The explicit row key sent with every entity row and used to attach the results back.

No offline store promises to return rows in the entity dataframe's order (BigQuery
returns them in any order), so results are joined on this key, never by position."""


def service_name(service: str | None = None, market: str | None = None) -> str:
    """The service asked for by name (``player_rebounds_v1``) or by market (``rebounds``); default points."""
    if service is not None and market is not None and catalog.SERVICE_MARKETS.get(service) is not market_named(market):
        raise UserError(f"--service {service} and --market {market} disagree; give one of them.")
    if market is not None:
        return market_named(market).service
    service = service or FEATURE_SERVICE
    if service not in catalog.SERVICES:
        raise UserError(f"no feature service {service!r} in feature_repo/catalog.py SERVICES; services: "
                        f"{', '.join(catalog.SERVICES)}")
    return service


def market_of(service: str = FEATURE_SERVICE) -> Market:
    return catalog.SERVICE_MARKETS[service_name(service)]


def label_column(service: str = FEATURE_SERVICE) -> str:
    """The label's column: the market's stat (``points``, ``rebounds``, ``threes_made``, ``pra``...)."""
    return market_of(service).stat


def has_line_offered(service: str = FEATURE_SERVICE) -> bool:
    """Whether the service reads the request field ``line_offered`` (through points_avg_last_5_minus_line)."""
    return LINE_RELATIVE in catalog.SERVICES[service_name(service)]


def feature_columns(service: str = FEATURE_SERVICE) -> list[str]:
    """The feature columns of a training set, in the service's declared order."""
    return list(catalog.SERVICES[service_name(service)])


def output_columns(service: str = FEATURE_SERVICE, with_label: bool = True) -> list[str]:
    request = [LINE_OFFERED] if has_line_offered(service) else []
    return [*ENTITY_COLUMNS, *request, *feature_columns(service), *([label_column(service)] if with_label else [])]


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


def _services(store, names: Iterable[str]) -> dict:
    from feast.errors import FeatureServiceNotFoundException

    out = {}
    for name in names:
        try:
            out[name] = store.get_feature_service(name)
        except FeatureServiceNotFoundException:
            raise UserError(
                f"feature service {name!r} is not in the registry of {store.config.project}: run "
                f"`feast apply` from the repository root first (NBAFS_DATA_DIR selects which store)."
            ) from None
    return out


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
    table = table.drop_columns([ROW_KEY])
    if (keys == np.arange(len(keys))).all():  # already in order (our DuckDB store): no copy
        return table
    order = np.empty(len(request), dtype="int64")
    order[keys] = np.arange(len(keys))
    return table.take(pa.array(order))


_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def build_training_set(entity_rows: pd.DataFrame, store=None, with_label: bool = True,
                       service: str = FEATURE_SERVICE) -> pd.DataFrame:
    """Point-in-time features of one service for each entity row (see module docstring).

    ``entity_rows``: player_lookup, game_id and event_timestamp (or game_date: asked at noon
    US/Eastern that day). Returns one row per input row, in input order, with the columns of
    :func:`output_columns` (without the label when ``with_label`` is False).
    """
    service = service_name(service)
    return build_training_sets(entity_rows, [service], store=store, with_label=with_label)[service]


def build_training_sets(entity_rows: pd.DataFrame, services: Iterable[str] | None = None, store=None,
                        with_label: bool = True) -> dict[str, pd.DataFrame]:
    """The training sets of several services for the same entity rows, by service name.

    One point-in-time retrieval of the union of the services' features (each feature as
    the registry's service projects it) and one read of the labels, then one frame per
    service with exactly :func:`output_columns` of that service. Default: every service.
    """
    names = [service_name(s) for s in (services if services is not None else catalog.SERVICES)]
    store = store or profile.feature_store()
    rows = _check_entity_rows(entity_rows)
    registered = _services(store, names)
    refs: list[str] = []
    for name, svc in registered.items():
        served = {f.name for p in svc.feature_view_projections for f in p.features}
        missing = [c for c in feature_columns(name) if c not in served]
        if missing:
            raise UserError(
                f"feature service {name!r} in the registry lacks {', '.join(missing)}: the registry is "
                f"older than feature_repo/catalog.py. Run `feast apply`."
            )
        for p in svc.feature_view_projections:
            refs += [f"{p.name_to_use()}:{f.name}" for f in p.features]
    refs = list(dict.fromkeys(refs))
    keys = rows[list(ENTITY_COLUMNS)].copy().reset_index(drop=True)
    request = keys[["player_lookup", "game_id", "event_timestamp"]].copy()
    line_needed = any(has_line_offered(n) for n in names)
    if line_needed:
        request[LINE_OFFERED] = (consensus_lines(store, request).to_numpy() if len(rows)
                                 else pd.Series(dtype="float64"))
    table = retrieve(store, request, refs)
    wanted = list(dict.fromkeys(c for n in names for c in feature_columns(n)))
    features = table.select(wanted).to_pandas(types_mapper=_NULLABLE.get)
    stats = labels_by_market(rows, [market_of(n) for n in names]) if with_label else None
    out = {}
    for name in names:
        parts = [keys]
        if has_line_offered(name):
            parts.append(request[[LINE_OFFERED]])
        parts.append(features[feature_columns(name)])
        frame = pd.concat(parts, axis=1)
        if with_label:
            frame[label_column(name)] = pd.array(stats[label_column(name)].array, dtype=pd.Int64Dtype())
        out[name] = frame
    return out


def labels(rows: pd.DataFrame, market: Market | str = "points") -> pd.Series:
    """The market's stat in each row's game (nullable Int64; NULL when unknown; default points).

    Joined on (player_lookup, game_id), never by position.
    """
    m = market_named(market) if isinstance(market, str) else market
    return labels_by_market(rows, [m])[m.stat].rename(m.stat)


def labels_by_market(rows: pd.DataFrame, markets: Iterable[Market] = MARKETS) -> pd.DataFrame:
    """One nullable Int64 column per market's stat, index = ``rows.index``: the sum of the
    market's ``box_score`` columns of ``nba_analytics.player_game_summary`` for the row's
    (player_lookup, game_id); NULL when the game has no row or any summed column is NULL."""
    from warehouse import engine
    from warehouse.schema import PLAYER_GAME_SUMMARY

    markets = list(dict.fromkeys(markets))
    keys = ["player_lookup", "game_id"]
    columns = list(dict.fromkeys(c for m in markets for c in m.box_score))
    got = engine.current().read(PLAYER_GAME_SUMMARY, columns=[*keys, *columns])
    found = got.select(keys).cast(pa.schema([(k, pa.string()) for k in keys]))
    repeated = found.group_by(keys).aggregate([([], "count_all")]).filter(pc.field("count_all") > 1)
    if repeated.num_rows:
        first = repeated.slice(0, 1).to_pylist()[0]
        raise UserError(
            f"{PLAYER_GAME_SUMMARY.fqn}: {repeated.num_rows} (player_lookup, game_id) key(s) have more than one "
            f"row (first: {first['player_lookup']}, {first['game_id']}: {first['count_all']} rows); expected one "
            f"row per player-game. Rerun `nbafs transform` for those dates."
        )
    found = pa.table([*found.columns, *(got.column(c).cast(pa.int64()) for c in columns)],
                     names=[*keys, *columns])
    wanted = pa.table({**{k: pa.array(rows[k].astype("string").to_numpy(), type=pa.string(), from_pandas=True)
                          for k in keys},
                       "__i": pa.array(np.arange(len(rows), dtype="int64"))})
    # a hash join on the keys (a left join: no row found is NULL), back in the rows' order
    merged = wanted.join(found, keys=keys, join_type="left outer").sort_by("__i")
    out = pd.DataFrame(index=rows.index)
    for m in markets:
        total = merged.column(m.box_score[0])
        for c in m.box_score[1:]:
            total = pc.add(total, merged.column(c))  # NULL when any part is NULL
        out[m.stat] = pd.array(total.to_pandas(types_mapper=_NULLABLE.get), dtype=pd.Int64Dtype())
    return out


# --- command line ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=timeline.argparse_date, default=None,
                        help="first game date (YYYY-MM-DD); default: the first game in the warehouse")
    parser.add_argument("--end", type=timeline.argparse_date, default=None,
                        help="last game date (YYYY-MM-DD, inclusive); default: the last game in the warehouse")
    parser.add_argument("--out", type=Path, required=True, help="parquet file to write")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--service", default=None, choices=list(catalog.SERVICES),
                       help=f"feature service (default {FEATURE_SERVICE})")
    which.add_argument("--market", default=None, choices=[m.name for m in MARKETS],
                       help="the market whose service to use (player_<market>_v1)")


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    service = service_name(getattr(args, "service", None), getattr(args, "market", None))
    if args.start and args.end and args.end < args.start:
        raise UserError(f"--end {args.end} is before --start {args.start}; give the first date first.")
    rows = entity_rows_for_range(args.start, args.end)
    if rows.empty:
        raise UserError(
            f"no played player-game in nba_analytics.player_game_summary for {args.start or 'the start'}.."
            f"{args.end or 'the end'}: import or generate a season and run `nbafs transform` first."
        )
    print(f"{len(rows):,} player-games, {rows['game_date'].min()} .. {rows['game_date'].max()}; retrieving "
          f"{service} ...", flush=True)
    out = build_training_set(rows, service=service)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(out, preserve_index=False), args.out)
    print(f"wrote {len(out):,} rows x {out.shape[1]} columns to {args.out} in {time.perf_counter() - t0:.1f} s")
    print("populated share per feature (NULL stays NULL):")
    for i, name in enumerate(feature_columns(service)):
        print(f"  [{i:2d}] {name:<36} {out[name].notna().mean():6.1%}")
    label = label_column(service)
    print(f"  label {label:<34} {out[label].notna().mean():6.1%}")
    return 0
