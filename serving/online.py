"""Fetch the online feature vectors of a game-day slate, with a staleness report.

    nbafs online --date 2026-02-10 [--market rebounds] [--json]
    nbafs online                      (today's slate, judged against now)

For every player of the day's games (``nba_analytics.upcoming_player_game_context``
rows dated D): his vector of a feature service (default ``player_points_v1``; any of
``feature_repo/catalog.py`` SERVICES) from the online store, through
``FeatureStore.get_online_features``, columns in the service's declared order
(points: index 8 = ``usage_spike_score``).

Staleness. Every value is judged by the online store's rule (feast_plugins/staleness.py)
at the slate's time ``at`` (``--date D``: noon US/Eastern on D, the time a slate is
predicted; no date: now), sent as the request field ``request_time``:

- fresh:   at - ttl <= event time <= at   -> served;
- stale:   event time < at - ttl          -> missing (OUTSIDE_MAX_AGE), counted;
- future:  event time > at                -> missing (OUTSIDE_MAX_AGE), counted: it was
           not known at the slate's time (replaying a past date on a newer store);
- missing: the store holds nothing for the player.

An on-demand feature (``usage_spike_score``, ``points_avg_last_5_minus_line``) is
missing, and counted stale, when one of its source values is.

The request field ``line_offered`` (the line the book offers, used by the on-demand
view ``line_relative`` of the points service) is the served consensus ``points_line`` of
the player's game: NULL when it is not fresh. Services without that view have no
request field and no ``line_offered`` column.

Python API: ``slate_features(day, at=None, service=...) -> (DataFrame, StalenessReport)``;
``slate_vectors(store, players, at, service=...)`` for an entity list you already have;
``slate_features_by_service(day, at)`` for every service at once (one read per service,
so each service's reads are what its own clients would see, and logged where it is), with
one report over all their views.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
from feast.online_response import TIMESTAMP_POSTFIX
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus

from feast_plugins.staleness import REQUEST_TIME
from feature_repo import catalog
from nbafs import timeline
from nbafs.errors import UserError
from warehouse.markets import MARKETS

FEATURE_SERVICE = "player_points_v1"
LINE_OFFERED = "line_offered"
LINE_FEATURE = "points_line"
LINE_RELATIVE = "points_avg_last_5_minus_line"  # the on-demand feature that reads line_offered
ID_COLUMNS = ("player_lookup", "game_id", "game_date", "team_abbr", "opponent_team_abbr")
PANDAS_DTYPES = {"Float64": "float64", "Int64": "Int64", "Bool": "boolean"}
_NOT_FOUND, _OUTSIDE = FieldStatus.NOT_FOUND, FieldStatus.OUTSIDE_MAX_AGE
_NOT_SERVED = ("stale", "future")


# --- the report ------------------------------------------------------------------------------


@dataclass
class ViewStaleness:
    """Counts of players per state for one feature view (or on-demand view)."""

    view: str
    ttl: Optional[dt.timedelta]  # None: no expiry (ttl 0), or an on-demand view
    features: list[str]
    fresh: int = 0
    stale: int = 0
    future: int = 0
    missing: int = 0
    on_demand: bool = False

    def to_dict(self) -> dict:
        return {
            "view": self.view, "on_demand": self.on_demand,
            "ttl_seconds": None if self.ttl is None else int(self.ttl.total_seconds()),
            "features": list(self.features),
            "fresh": self.fresh, "stale": self.stale, "future": self.future, "missing": self.missing,
        }


@dataclass
class StalenessReport:
    """What the slate's values were, judged against the slate's time ``at``."""

    day: Optional[dt.date]
    at: dt.datetime
    players: int
    views: list[ViewStaleness] = field(default_factory=list)

    @property
    def stale(self) -> int:
        return sum(v.stale for v in self.views)

    @property
    def future(self) -> int:
        return sum(v.future for v in self.views)

    def view(self, name: str) -> ViewStaleness:
        for v in self.views:
            if v.view == name:
                return v
        raise KeyError(f"no view {name!r} in the staleness report")

    def summary(self) -> str:
        parts = [f"{v.view}: {v.fresh} fresh, {v.stale} stale, {v.future} future, {v.missing} missing"
                 for v in self.views]
        return f"{self.players} players as of {self.at:%Y-%m-%d %H:%M} UTC; " + "; ".join(parts)

    def to_dict(self) -> dict:
        return {
            "date": None if self.day is None else self.day.isoformat(),
            "at": self.at.isoformat(),
            "players": self.players,
            "stale": self.stale,
            "future": self.future,
            "views": [v.to_dict() for v in self.views],
        }


# --- the slate ---------------------------------------------------------------------------------


def slate_players(day: dt.date) -> pd.DataFrame:
    """The players of ``day``'s games: one row each, from upcoming_player_game_context.

    Reads the table's partition of that date only, through the active profile's warehouse.
    """
    from warehouse import engine
    from warehouse.schema import UPCOMING_PLAYER_GAME_CONTEXT

    table = engine.current().read(UPCOMING_PLAYER_GAME_CONTEXT, start=day, end=day, columns=list(ID_COLUMNS))
    frame = table.to_pandas()
    frame = frame.sort_values(["game_id", "team_abbr", "player_lookup"], kind="stable")
    return frame.drop_duplicates("player_lookup").reset_index(drop=True)


def has_line_offered(service: str = FEATURE_SERVICE) -> bool:
    """Whether the service reads the request field ``line_offered`` (points_avg_last_5_minus_line)."""
    return LINE_RELATIVE in catalog.SERVICES[service]


def slate_features(day: dt.date, at: Optional[dt.datetime] = None, store=None,
                   service: str = FEATURE_SERVICE) -> tuple[pd.DataFrame, StalenessReport]:
    """Feature vectors of every player of ``day``'s games, as of ``at`` (noon US/Eastern on D)."""
    from nbafs import profile

    at = _utc(at) if at is not None else timeline.noon_eastern(day)
    store = store or profile.feature_store()
    frame, report = slate_vectors(store, slate_players(day), at, service=service)
    report.day = day
    return frame, report


def slate_features_by_service(day: dt.date, at: Optional[dt.datetime] = None, store=None,
                              services=None) -> tuple[dict[str, pd.DataFrame], StalenessReport]:
    """Every service's slate vectors (default: all of catalog.SERVICES), by service name.

    One online read per service, all judged at the same ``at``; the report lists each
    view once with the features any service reads from it (a view's verdict for a player
    does not depend on which service read it).
    """
    from nbafs import profile

    at = _utc(at) if at is not None else timeline.noon_eastern(day)
    store = store or profile.feature_store()
    players = slate_players(day)
    frames: dict[str, pd.DataFrame] = {}
    merged = StalenessReport(day=day, at=at, players=len(players))
    for service in (services if services is not None else catalog.SERVICES):
        frames[service], report = slate_vectors(store, players, at, service=service)
        seen = {v.view: v for v in merged.views}
        for v in report.views:
            if v.view in seen:  # same counts; the features of every service that reads the view
                seen[v.view].features += [f for f in v.features if f not in seen[v.view].features]
            else:
                merged.views.append(v)
    return frames, merged


def slate_vectors(store, players: pd.DataFrame, at: dt.datetime,
                  service: str = FEATURE_SERVICE) -> tuple[pd.DataFrame, StalenessReport]:
    """Online vectors for these players (columns ``player_lookup`` and ``game_id``, plus any ids).

    Returns the id columns, ``line_offered`` (services that read it), then the service's
    features in its declared order; stale and future values are missing (see the docstring).
    """
    at = _utc(at)
    order = _order(service)
    meta = _service_views(store, service)
    service_obj, view_of, ttl_of, sources_of = meta.service, meta.view_of, meta.ttl_of, meta.sources_of
    report = StalenessReport(day=None, at=at, players=len(players))
    ids = [c for c in players.columns if c != LINE_OFFERED]
    with_line = has_line_offered(service)
    if len(players) == 0:
        return _empty_frame(ids, order, with_line), _empty_report(report, view_of, ttl_of, sources_of, order)
    request_time = [at.isoformat()] * len(players)
    rows = {"player_lookup": players["player_lookup"].tolist(), "game_id": players["game_id"].tolist(),
            REQUEST_TIME: request_time}

    # 1. The line offered: the served consensus line (the store serves it only when fresh at `at`).
    if with_line:
        line_view = view_of[LINE_FEATURE]
        line_response = store.get_online_features(features=[f"{line_view}:{LINE_FEATURE}"], entity_rows=rows)
        rows[LINE_OFFERED] = line_response.to_dict()[LINE_FEATURE]

    # 2. The whole service, judged by the store at `at`; the report counts what it judged.
    response = store.get_online_features(features=service_obj, entity_rows=rows)
    values = response.to_dict(include_event_timestamps=True)
    states = {}  # view -> per-player state
    for view, features in _features_by_view(view_of, order).items():
        if view in sources_of:
            continue
        states[view] = _states(response, values, features[0], at)
    for odfv, sources in sources_of.items():
        # Computed from its sources' values: stale (or future) when one of them is.
        outputs = [values[f] for f, v in view_of.items() if v == odfv]
        state = ["missing" if all(v is None for v in row) else "fresh" for row in zip(*outputs)]
        for source in reversed([s for s in sources if s in states]):  # the first source's verdict wins
            for i, source_state in enumerate(states[source]):
                if source_state in _NOT_SERVED:
                    state[i] = source_state
        states[odfv] = state

    for view, features in _features_by_view(view_of, order).items():
        counts = Counter(states[view])
        report.views.append(ViewStaleness(
            view, ttl_of.get(view), features, fresh=counts["fresh"], stale=counts["stale"],
            future=counts["future"], missing=counts["missing"], on_demand=view in sources_of,
        ))

    columns = {c: players[c].to_numpy() for c in ids}
    if with_line:
        columns[LINE_OFFERED] = np.array(rows[LINE_OFFERED], dtype="float64")
    for name in order:
        columns[name] = _column(values[name], catalog.feature(name).dtype)
    return pd.DataFrame(columns), report


def _order(service: str) -> tuple[str, ...]:
    if service not in catalog.SERVICES:
        raise UserError(f"no feature service {service!r} in feature_repo/catalog.py SERVICES; services: "
                        f"{', '.join(catalog.SERVICES)}")
    return catalog.SERVICES[service]


def _column(values: list, dtype: str):
    """A feature column: float64 with NaN for NULL, nullable Int64 / boolean (NULL stays NULL)."""
    if dtype == "Float64":
        return np.array(values, dtype="float64")  # None -> NaN
    return pd.array(values, dtype=PANDAS_DTYPES[dtype])


def _states(response, values: dict, feature: str, at: dt.datetime) -> list[str]:
    """fresh / stale / future / missing per row of one feature's column, from the store's statuses.

    OUTSIDE_MAX_AGE is "future" when the stored event time is after ``at``, else "stale".
    """
    at_s = at.timestamp()
    out = []
    for status, event in zip(response.statuses(feature), values[feature + TIMESTAMP_POSTFIX]):
        if status == _NOT_FOUND:
            out.append("missing")
        elif status == _OUTSIDE:
            out.append("future" if event > at_s else "stale")
        else:
            out.append("fresh")
    return out


@dataclass(frozen=True)
class _ServiceViews:
    service: object  # the FeatureService
    view_of: dict  # feature -> the view it is served from
    ttl_of: dict  # view -> ttl (None: never expires, or on demand)
    sources_of: dict  # on-demand view -> its source feature views


_SERVICE_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _service_views(store, service_name: str = FEATURE_SERVICE) -> _ServiceViews:
    """The service and its views, from the registry cache (re-read when the registry is refreshed).

    ``FeatureStore.get_*`` without ``allow_cache`` re-reads the registry file on every
    call, which also drops Feast's own request cache: a slate would pay for it twice.
    """
    registry_version = getattr(store.registry, "cached_registry_proto_created", None)
    cached = _SERVICE_CACHE.get(store, {}).get(service_name)
    if cached is not None and registry_version is not None and cached[0] == registry_version:
        return cached[1]
    try:
        service = store.get_feature_service(service_name, allow_cache=True)
    except Exception as exc:  # FeatureServiceNotFoundException and registry errors
        raise UserError(
            f"feature service {service_name!r} is not in the registry ({exc}). Run `feast apply` from the "
            "repository root with the same NBAFS_DATA_DIR, then materialize (`nbafs backfill`)."
        ) from None
    view_of: dict[str, str] = {}
    ttl_of: dict[str, Optional[dt.timedelta]] = {}
    sources_of: dict[str, list[str]] = {}
    odfvs = {v.name: v for v in store.list_on_demand_feature_views(allow_cache=True)}

    def ttl(view: str) -> Optional[dt.timedelta]:
        value = store.get_feature_view(view, allow_registry_cache=True).ttl
        return value if value else None  # ttl 0 / None: never expires

    for projection in service.feature_view_projections:
        name = projection.name
        for f in projection.features:
            view_of[f.name] = name
        if name in odfvs:
            sources_of[name] = [p.name for p in odfvs[name].source_feature_view_projections.values()]
            ttl_of[name] = None
        else:
            ttl_of[name] = ttl(name)
    if has_line_offered(service_name):
        line_view = catalog.feature(LINE_FEATURE).view
        view_of.setdefault(LINE_FEATURE, line_view)
        if line_view not in ttl_of:
            ttl_of[line_view] = ttl(line_view)
    result = _ServiceViews(service, view_of, ttl_of, sources_of)
    if store not in _SERVICE_CACHE:
        _SERVICE_CACHE[store] = {}
    _SERVICE_CACHE[store][service_name] = (getattr(store.registry, "cached_registry_proto_created", None), result)
    return result


def _features_by_view(view_of: dict, order: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in order:
        out.setdefault(view_of[name], []).append(name)
    return out


def _empty_frame(ids: list[str], order: tuple[str, ...] = catalog.PLAYER_POINTS_V1,
                 with_line: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in ids})
    if with_line:
        frame[LINE_OFFERED] = pd.Series(dtype="float64")
    for name in order:
        frame[name] = pd.Series(dtype=PANDAS_DTYPES[catalog.feature(name).dtype])
    return frame


def _empty_report(report: StalenessReport, view_of, ttl_of, sources_of,
                  order: tuple[str, ...] = catalog.PLAYER_POINTS_V1) -> StalenessReport:
    for view, features in _features_by_view(view_of, order).items():
        report.views.append(ViewStaleness(view, ttl_of.get(view), features, on_demand=view in sources_of))
    return report


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=timeline.UTC) if t.tzinfo is None else t.astimezone(timeline.UTC)


# --- command line ------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=timeline.argparse_date, default=None,
                        help="the game date whose slate to fetch (YYYY-MM-DD); values are judged at noon "
                             "US/Eastern on that date. Default: today's date (US/Eastern), judged now")
    parser.add_argument("--at", type=timeline.argparse_time, default=None,
                        help="judge staleness at this time instead (ISO 8601, e.g. 2026-02-10T17:00:00Z)")
    parser.add_argument("--market", default=None, choices=[m.name for m in MARKETS],
                        help="the market whose feature service to read (player_<market>_v1; default points)")
    parser.add_argument("--json", action="store_true", help="print the vectors and the report as JSON")


def run(args) -> int:
    if args.date is None:
        at = args.at or dt.datetime.now(timeline.UTC)
        day = at.astimezone(timeline.EASTERN).date()
    else:
        day, at = args.date, args.at or timeline.noon_eastern(args.date)
    service = f"player_{args.market}_v1" if getattr(args, "market", None) else FEATURE_SERVICE
    frame, report = slate_features(day, at=at, service=service)
    if args.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        print(json.dumps({"service": service, "staleness": report.to_dict(), "vectors": records}, indent=2))
        return 0
    _print(frame, report, service)
    return 0


def _print(frame: pd.DataFrame, report: StalenessReport, service: str = FEATURE_SERVICE) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if len(frame) == 0:
        console.print(f"No players on the slate of {report.day}: nba_analytics.upcoming_player_game_context has "
                      "no rows for that date.")
    else:
        # A service's features do not fit a terminal by name: columns are its indexes, legend below.
        order = catalog.SERVICES[service]
        table = Table(title=f"{report.day} slate: {len(frame)} players, features as of {report.at:%Y-%m-%d %H:%M} UTC "
                            f"(— = missing)", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("player", no_wrap=True, max_width=22)
        table.add_column("team", no_wrap=True)
        table.add_column("opp", no_wrap=True)
        for i, _ in enumerate(order):
            table.add_column(str(i), justify="right", no_wrap=True)
        shown = ["player_lookup", "team_abbr", "opponent_team_abbr", *order]
        for row in frame[shown].itertuples(index=False):
            table.add_row(*(_cell(v) for v in row))
        console.print(table)
        console.print(f"Features ({service}): " + ", ".join(f"{i} {name}" for i, name in enumerate(order)))
    staleness = Table(title=f"Staleness at {report.at:%Y-%m-%d %H:%M} UTC: stale and future values are served as "
                            "missing", box=box.SIMPLE_HEAD)
    for col in ("view", "ttl", "fresh", "stale", "future", "missing"):
        staleness.add_column(col, justify="left" if col == "view" else "right", no_wrap=True)
    for v in report.views:
        ttl = "on demand" if v.on_demand else ("none" if v.ttl is None else _duration(v.ttl))
        staleness.add_row(v.view, ttl, str(v.fresh), str(v.stale), str(v.future), str(v.missing))
    console.print(staleness)


def _duration(t: dt.timedelta) -> str:
    hours = t.total_seconds() / 3600
    return f"{hours / 24:g} d" if hours >= 24 and hours % 24 == 0 else f"{hours:g} h"


def _cell(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)
