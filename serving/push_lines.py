"""Push a new betting-lines snapshot file to the online and offline stores.

    nbafs push-lines raw_20260227_170000.csv [--json]

FILE is an Odds API player props file, the format ``nbafs import`` reads (columns
snapshot_file, player, market, line, bookmaker, game, game_time, over_odds, under_odds;
.csv or .csv.gz; usually one snapshot, several are pushed in time order). In order:

1. The file is read and validated by the importer itself (warehouse/importers/odds_api.py:
   same checks, same dropped rows, same messages naming the line and the column), and its
   rows are written to nba_raw.odds_api_player_points_props as ``nbafs import`` writes
   them (the file's own snapshots are replaced, other snapshots kept).
2. The consensus of each snapshot is computed by the transformation's own SQL
   (transformations/sql/analytics/player_points_line_consensus.sql), restricted to the
   file's snapshots, so a later ``nbafs transform`` writes exactly the rows pushed here.
3. For each (player, game), a line newer than the one the online store holds is pushed to
   the push source ``player_points_line_push`` online and offline (what
   ``to=online_and_offline`` does: online first, timed apart here): the online store
   serves it at once and the consensus table holds it for training. A line not newer (an
   older snapshot arriving late, or one already pushed) changes nothing online and is
   written to the consensus table only.

It prints the file's lines, how many were pushed (and of those how many changed the
value the online store held, or were new), and how many were skipped as not newer.
Running it twice on the same file changes nothing the second time. Run ``feast apply``
first; the game must be in nba_raw.schedule (``nbafs import`` the team logs first).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from nbafs.errors import UserError

VIEW = "player_points_line"
KEYS = ("player_lookup", "game_id")
CONSENSUS_SQL = "analytics/player_points_line_consensus.sql"


@dataclass
class PushReport:
    """What one ``push-lines`` run did."""

    file: str
    snapshots: list[str] = field(default_factory=list)  # ISO times, in push order
    lines: int = 0  # consensus lines of the file's snapshots
    pushed: int = 0  # newer than the online store's: online and offline
    changed: int = 0  # pushed, and the online store held another value for that player and game
    new: int = 0  # pushed, and the online store held nothing for that player and game
    skipped_older: int = 0  # the online store holds a newer snapshot: offline only
    already: int = 0  # the online store holds this very snapshot: offline only
    raw_rows: int = 0  # rows written to nba_raw.odds_api_player_points_props for the file's snapshots
    dropped: dict[str, int] = field(default_factory=dict)  # importer's dropped rows, by reason
    seconds_online: float = 0.0  # store.push to the online store
    seconds_offline: float = 0.0  # store.push to the offline store (the consensus table)
    seconds: float = 0.0  # everything

    def lines_text(self) -> list[str]:
        unchanged = self.pushed - self.changed - self.new
        out = [
            f"{self.file}: {len(self.snapshots)} snapshot(s) {', '.join(self.snapshots)}; "
            f"{self.raw_rows:,} book lines written to nba_raw.odds_api_player_points_props",
            f"{self.lines:,} consensus lines: {self.pushed:,} pushed online and offline "
            f"({self.changed:,} changed value, {self.new:,} new, {unchanged:,} same value at a newer snapshot), "
            f"{self.skipped_older + self.already:,} skipped as not newer than the online store "
            f"({self.skipped_older:,} older, {self.already:,} already pushed; written offline only)",
        ]
        if self.dropped:
            out.append("importer dropped " + ", ".join(f"{n:,} {why}" for why, n in self.dropped.items()))
        out.append(f"online in {self.seconds_online:.2f} s, offline in {self.seconds_offline:.2f} s, "
                   f"{self.seconds:.2f} s in all")
        return out


def push_file(path: str | Path, store=None) -> PushReport:
    """Validate, record and push one Odds API snapshot file (see the module docstring)."""
    from feast.data_source import PushMode

    from feature_repo.data_sources import LINE_PUSH_SOURCE
    from nbafs import profile

    t0 = time.perf_counter()
    path = Path(path)
    report = PushReport(file=str(path))
    raw = import_snapshot(path, report)
    snapshots = sorted(set(raw["snapshot_at"]))
    report.snapshots = [s.isoformat().replace("+00:00", "Z") for s in snapshots]
    lines = consensus_lines(sorted(set(raw["game_date"])), snapshots)
    report.lines = len(lines)

    store = store or profile.feature_store()
    held = online_lines(store, lines)
    for snapshot in snapshots:
        rows = lines[lines["snapshot_at"] == snapshot].reset_index(drop=True)
        key = list(zip(rows["player_lookup"], rows["game_id"]))
        before = [held.get(k) for k in key]
        newer = pd.Series([b is None or b[0] < snapshot for b in before], dtype=bool)
        for k, b, is_newer, value in zip(key, before, newer, rows["points_line"]):
            if is_newer:
                report.pushed += 1
                report.new += b is None
                report.changed += b is not None and b[1] != value
                held[k] = (snapshot, value)
            elif b[0] == snapshot:
                report.already += 1
            else:
                report.skipped_older += 1
        # Online first, then the table: what store.push(to=ONLINE_AND_OFFLINE) does, timed apart.
        started = time.perf_counter()
        if newer.any():
            store.push(LINE_PUSH_SOURCE, rows[newer].reset_index(drop=True), to=PushMode.ONLINE)
        report.seconds_online += time.perf_counter() - started
        started = time.perf_counter()
        store.push(LINE_PUSH_SOURCE, rows, to=PushMode.OFFLINE)
        report.seconds_offline += time.perf_counter() - started
    report.seconds = time.perf_counter() - t0
    return report


def import_snapshot(path: Path, report: PushReport) -> pd.DataFrame:
    """The importer's own read, validation and write of an Odds API file; the rows it wrote."""
    from warehouse import schema
    from warehouse.importers import detect, odds_api
    from warehouse.importers.common import NOTHING_WRITTEN, read_rows
    from warehouse.importers.run import ImportRun

    if not path.is_file():
        raise UserError(f"{path}: no such file. Give one Odds API snapshot file (.csv or .csv.gz); {NOTHING_WRITTEN}.")
    module = detect.module_for(path)
    if module is not odds_api:
        raise UserError(
            f"{path}: this is a {module.FORMAT.label} file, not an {odds_api.FORMAT.label} file "
            f"(columns {', '.join(odds_api.FORMAT.required)}). Import it with `nbafs import {path}`; "
            f"push-lines takes betting-line snapshots only; {NOTHING_WRITTEN}."
        )
    run = ImportRun()
    file_report = odds_api.load(path, read_rows(path, usecols=odds_api.FORMAT.required), run)
    report.dropped = dict(file_report.dropped)
    raw = run.staged_frame(schema.ODDS_API_PLAYER_POINTS_PROPS)
    run.write()
    report.raw_rows = len(raw)
    return raw.assign(snapshot_at=pd.to_datetime(raw["snapshot_at"], utc=True))


def consensus_lines(game_dates: list[dt.date], snapshots: list[pd.Timestamp]) -> pd.DataFrame:
    """The consensus rows of ``snapshots`` on ``game_dates``: the transformation's SQL on the warehouse."""
    from transformations.steps import STEPS
    from warehouse import engine, schema
    from warehouse.validate import conform

    [step] = [s for s in STEPS if s.sql_file == CONSENSUS_SQL]
    sql = f"SELECT * FROM (\n{step.sql.strip().rstrip(';')}\n) WHERE snapshot_at IN UNNEST(@snapshots)"
    got = engine.current().query(sql, {"start_date": min(game_dates), "end_date": max(game_dates),
                                       "snapshots": [s.to_pydatetime() for s in snapshots]})
    table = conform(schema.PLAYER_POINTS_LINE_CONSENSUS, got.to_pandas(), source=step.display_path)
    lines = table.to_pandas()
    return lines.sort_values(["snapshot_at", "game_id", "player_lookup"], ignore_index=True)


def online_lines(store, lines: pd.DataFrame) -> dict[tuple[str, str], tuple[dt.datetime, float]]:
    """What the online store holds for the lines' (player, game): {(player, game): (event time, line)}.

    Read through the provider's ``online_read`` (the store's raw content, whatever the
    request time), not ``get_online_features``, which hides values outside the ttl window.
    """
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    view = store.get_feature_view(VIEW)
    keys = list(dict.fromkeys(zip(lines["player_lookup"], lines["game_id"])))
    protos = [EntityKey(join_keys=list(KEYS), entity_values=[Value(string_val=p), Value(string_val=g)])
              for p, g in keys]
    got = store._get_provider().online_read(store.config, view, protos, ["points_line"]) if protos else []
    held = {}
    for key, (ts, values) in zip(keys, got):
        if ts is None:
            continue
        ts = ts.replace(tzinfo=dt.timezone.utc) if ts.tzinfo is None else ts.astimezone(dt.timezone.utc)
        held[key] = (ts, values["points_line"].double_val if values and "points_line" in values else None)
    return held


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE",
                        help="an Odds API player props snapshot file (.csv or .csv.gz), as nbafs import reads")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")


def run(args) -> int:
    report = push_file(args.file)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print("\n".join(report.lines_text()))
    return 0
