"""Intraday lines by push: ``nbafs push-lines``, ``store.push`` and ``feast serve``'s ``/push``.

Protects:
- replaying a day's line snapshots by push (in order, then an older snapshot after a
  newer one): after each push the online vector of ``player_points_line`` at the
  replay's time equals ``get_historical_features`` at that time, the older snapshot
  changes nothing online, and the consensus table holds every pushed row; in the local
  profile and on the production stand-ins (BigQuery emulator, redis-server);
- the rows pushed are the rows ``nbafs transform`` then writes from the same raw lines;
- pushing the same file twice changes nothing; ``offline_write_batch`` merges by the
  table's grain and refuses undeclared columns;
- ``nbafs push-lines`` prints its counts, and a bad file is one message naming the file,
  the line, the column and what to do, with nothing written;
- ``feast serve``'s own ``/push`` endpoint lands a snapshot online and offline.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from nbafs import cli, paths, profile
from nbafs.errors import UserError
from tests import league
from tests.serve_support import feast_serve, post
from warehouse import engine, schema
from warehouse.teams import TEAMS

UTC = dt.timezone.utc
DAY = dt.date(2025, 11, 30)  # a game day of tests/league.py's league, with lines from 15:00 UTC
BOOT = dt.datetime(2025, 11, 30, 15, 30, tzinfo=UTC)  # materialized up to here: the 15:00 lines online
FULL_NAME = {t.abbr: t.full_name for t in TEAMS}
FEAST = str(Path(sys.executable).parent / "feast")


# --- the league, materialized to the morning of DAY ---------------------------------------------


def _build_and_materialize() -> None:
    league.build()
    materialize = subprocess.run(
        [FEAST, "-f", profile.yaml_path().name, "materialize", "2025-10-01T00:00:00", BOOT.strftime("%Y-%m-%dT%H:%M:%S")],
        cwd=paths.REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=600,
    )
    assert materialize.returncode == 0, materialize.stderr


@pytest.fixture
def local_store(tmp_path, monkeypatch):
    monkeypatch.delenv(profile.PROFILE_ENV, raising=False)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "data"))
    _build_and_materialize()
    return profile.feature_store()


# --- snapshot files in the Odds API format ------------------------------------------------------


def snapshot_file(directory: Path, at: dt.datetime, shift: dict[str, float] | None = None) -> Path:
    """An Odds API file (the importer's format) of DAY's book lines seen at ``at``.

    Built from the league's own 15:00 lines of DAY: same players, books and prices, every
    book's line moved by ``shift[player_lookup]`` (default 0).
    """
    wh = engine.current()
    lines = wh.read(schema.ODDS_API_PLAYER_POINTS_PROPS, DAY, DAY).to_pandas()
    lines = lines[pd.to_datetime(lines["snapshot_at"], utc=True) == pd.Timestamp(2025, 11, 30, 15, tz="UTC")]
    games = wh.read(schema.SCHEDULE, DAY, DAY).to_pandas().set_index("game_id")
    g = games.loc[lines["game_id"]]
    moved = lines["points_line"] + lines["player_lookup"].map(shift or {}).fillna(0.0).to_numpy()
    name = f"raw_{at:%Y%m%d_%H%M%S}.csv"
    frame = pd.DataFrame({
        "snapshot_file": name,
        "event_id": lines["game_id"].to_numpy(),
        "player": lines["player_name"].to_numpy(),
        "market": "player_points",
        "line": moved.to_numpy(),
        "bookmaker": lines["bookmaker"].to_numpy(),
        "game": (g["away_team_abbr"].map(FULL_NAME) + " @ " + g["home_team_abbr"].map(FULL_NAME)).to_numpy(),
        "game_time": pd.to_datetime(g["tipoff_at"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(),
        "over_odds": lines["over_price"].to_numpy(),
        "under_odds": lines["under_price"].to_numpy(),
    })
    path = directory / name
    frame.to_csv(path, index=False)
    return path


def players_of_day() -> list[str]:
    lines = engine.current().read(schema.ODDS_API_PLAYER_POINTS_PROPS, DAY, DAY).to_pandas()
    return sorted(set(lines["player_lookup"]))


# --- the oracle: online at the replay's time == historical at that time --------------------------


def line_keys() -> pd.DataFrame:
    lines = engine.current().read(schema.PLAYER_POINTS_LINE_CONSENSUS, DAY, DAY).to_pandas()
    return lines[["player_lookup", "game_id"]].drop_duplicates().sort_values(["player_lookup", "game_id"],
                                                                            ignore_index=True)


def online_vs_historical(store, at: dt.datetime) -> tuple[list, list]:
    keys = line_keys()
    refs = ["player_points_line:points_line"]
    rows = [{"player_lookup": p, "game_id": g, "request_time": at.isoformat()} for p, g in zip(keys["player_lookup"], keys["game_id"])]
    online = store.get_online_features(features=refs, entity_rows=rows).to_dict()
    entity = keys.assign(event_timestamp=pd.Timestamp(at))
    hist = store.get_historical_features(entity_df=entity, features=refs).to_df()
    hist = keys.merge(hist, on=["player_lookup", "game_id"], how="left")
    offline = [None if pd.isna(v) else float(v) for v in hist["points_line"]]
    return list(online["points_line"]), offline


def consensus_at(snapshot: dt.datetime) -> dict[tuple[str, str], float]:
    lines = engine.current().read(schema.PLAYER_POINTS_LINE_CONSENSUS, DAY, DAY).to_pandas()
    lines = lines[pd.to_datetime(lines["snapshot_at"], utc=True) == pd.Timestamp(snapshot)]
    return {(p, g): v for p, g, v in zip(lines["player_lookup"], lines["game_id"], lines["points_line"])}


def replay(store, directory: Path) -> None:
    """Three snapshots of DAY pushed in order, then an older one after them; checked after each push."""
    from serving.push_lines import push_file

    players = players_of_day()
    moves = {p: (0.5 if i % 3 == 0 else 0.0) for i, p in enumerate(players)}  # a third of the lines move
    plan = [
        (dt.datetime(2025, 11, 30, 16, tzinfo=UTC), moves),
        (dt.datetime(2025, 11, 30, 18, tzinfo=UTC), {p: 2 * v for p, v in moves.items()}),
        (dt.datetime(2025, 11, 30, 20, tzinfo=UTC), {p: 2 * v for p, v in moves.items()}),  # no move since 18:00
    ]
    n = len(line_keys())
    for i, (at, shift) in enumerate(plan):
        report = push_file(snapshot_file(directory, at, shift), store=store)
        print("\n".join(report.lines_text()))
        assert report.lines == n and report.pushed == n and report.skipped_older == 0
        assert report.changed == (0 if i == 2 else sum(1 for p in players if moves[p])), report
        online, offline = online_vs_historical(store, at)
        assert online == offline, f"after the push of {at}"
        assert set(online) - {None}, "the pushed lines are served"
        assert {k: v for k, v in zip(line_keys().itertuples(index=False, name=None), online)} == consensus_at(at)

    late = dt.datetime(2025, 11, 30, 17, tzinfo=UTC)  # older than the 20:00 snapshot online
    before = online_vs_historical(store, plan[-1][0])
    report = push_file(snapshot_file(directory, late, {p: 5.0 for p in players}), store=store)
    assert (report.pushed, report.skipped_older) == (0, n)
    after = online_vs_historical(store, plan[-1][0])
    assert after == before and after[0] == after[1], "an older snapshot pushed late changes nothing online"
    # ... but the offline table holds it, as it holds every pushed snapshot
    for at in [late] + [at for at, _ in plan]:
        assert len(consensus_at(at)) == n, at
    assert all(v == consensus_at(plan[0][0])[k] + 5.0 - (0.5 if moves[k[0]] else 0.0) for k, v in consensus_at(late).items())

    again = push_file(directory / f"raw_{plan[-1][0]:%Y%m%d_%H%M%S}.csv", store=store)
    assert (again.pushed, again.already) == (0, n), "pushing a file twice changes nothing"


def assert_transform_reproduces_the_pushed_rows() -> None:
    from transformations.runner import run as transform

    wh = engine.current()
    pushed = wh.read(schema.PLAYER_POINTS_LINE_CONSENSUS, DAY, DAY).to_pandas()
    transform(start=DAY, end=DAY, progress=None)
    rebuilt = wh.read(schema.PLAYER_POINTS_LINE_CONSENSUS, DAY, DAY).to_pandas()
    order = list(schema.PLAYER_POINTS_LINE_CONSENSUS.grain)
    pd.testing.assert_frame_equal(pushed.sort_values(order, ignore_index=True), rebuilt.sort_values(order, ignore_index=True))


# --- the tests ----------------------------------------------------------------------------------


def test_replay_a_day_of_snapshots_by_push_locally(local_store, tmp_path):
    replay(local_store, tmp_path)
    assert_transform_reproduces_the_pushed_rows()


@pytest.mark.prod
def test_replay_a_day_of_snapshots_by_push_on_the_production_stand_ins(prod_env, tmp_path):
    _build_and_materialize()
    replay(profile.feature_store(), tmp_path)
    assert_transform_reproduces_the_pushed_rows()


def test_nbafs_push_lines_prints_its_counts_and_a_bad_file_writes_nothing(local_store, tmp_path, capsys):
    good = snapshot_file(tmp_path, dt.datetime(2025, 11, 30, 16, tzinfo=UTC), {players_of_day()[0]: 1.0})
    assert cli.main(["push-lines", str(good)]) == 0
    out = capsys.readouterr().out
    n = len(line_keys())
    assert f"{n} consensus lines: {n} pushed online and offline (1 changed value, 0 new" in out, out
    assert cli.main(["push-lines", str(good), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert (counts["lines"], counts["pushed"], counts["already"]) == (n, 0, n)

    raw_before = engine.current().read(schema.ODDS_API_PLAYER_POINTS_PROPS).num_rows
    bad = tmp_path / "raw_20251130_190000.csv"
    text = snapshot_file(tmp_path, dt.datetime(2025, 11, 30, 19, tzinfo=UTC)).read_text().splitlines()
    fields = text[3].split(",")
    fields[4] = "twelve"  # the line column of file line 4
    text[3] = ",".join(fields)
    bad.write_text("\n".join(text) + "\n")
    assert cli.main(["push-lines", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "line 4, column 'line': expected a number, got 'twelve'" in err, err
    assert "nothing was written" in err
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("\n".join([text[0].replace(",line,", ",points_line,"), *text[1:]]) + "\n")
    assert cli.main(["push-lines", str(renamed)]) == 1
    err = capsys.readouterr().err
    assert str(renamed) in err and "Odds API player props, which lacks 'line' (closest present column: " \
        "'points_line')" in err, err
    assert engine.current().read(schema.ODDS_API_PLAYER_POINTS_PROPS).num_rows == raw_before
    assert consensus_at(dt.datetime(2025, 11, 30, 19, tzinfo=UTC)) == {}


def test_store_push_online_and_offline_merges_by_the_grain_and_undeclared_columns_are_refused(local_store):
    from feast.data_source import PushMode

    from feast_plugins.offline_store import merge_pushed_rows

    view = local_store.get_feature_view("player_points_line")
    table = schema.PLAYER_POINTS_LINE_CONSENSUS
    stored = engine.current().read(table, DAY, DAY)
    one = stored.slice(0, 1).to_pandas()
    one["points_line"] = one["points_line"] + 3.0
    local_store.push("player_points_line_push", one, to=PushMode.ONLINE_AND_OFFLINE)
    merged = engine.current().read(table, DAY, DAY).to_pandas()
    assert len(merged) == stored.num_rows, "a row with a stored grain key replaces it"
    key = one.iloc[0]
    same = merged[(merged["player_lookup"] == key["player_lookup"]) & (merged["game_id"] == key["game_id"])
                  & (merged["snapshot_at"] == key["snapshot_at"])]
    assert same["points_line"].tolist() == [key["points_line"]]
    with pytest.raises(UserError, match=r"'scraped_at'.*not columns of nba_analytics.player_points_line_consensus"):
        merge_pushed_rows(view, pa.Table.from_pandas(one.assign(scraped_at=one["created_at"]), preserve_index=False))


def test_feast_serve_push_endpoint_lands_a_snapshot_online_and_offline(local_store, tmp_path):
    from serving.push_lines import consensus_lines, import_snapshot, PushReport

    at = dt.datetime(2025, 11, 30, 16, tzinfo=UTC)
    path = snapshot_file(tmp_path, at, {p: 1.0 for p in players_of_day()})
    raw = import_snapshot(path, PushReport(file=str(path)))  # the raw rows, as push-lines writes them
    rows = consensus_lines([DAY], sorted(set(raw["snapshot_at"])))
    body = {"push_source_name": "player_points_line_push", "to": "online_and_offline",
            "df": {c: [v.isoformat() if isinstance(v, dt.date) else v for v in rows[c].tolist()] for c in rows.columns}}
    with feast_serve(tmp_path / "feast-serve.log") as url:
        started = time.perf_counter()
        status, answer = post(url, "/push", body)
        took = time.perf_counter() - started
        assert status == 200, answer
    assert took < 5, f"/push took {took:.2f} s"
    online, offline = online_vs_historical(local_store, at)
    assert online == offline and set(online) - {None}
    assert {k: v for k, v in zip(line_keys().itertuples(index=False, name=None), online)} == consensus_at(at)
