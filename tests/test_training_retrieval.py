"""Training retrieval (serving/training_set.py): shape, order, request line, label, real values.

On a small generated season: one output row per input row in input order (duplicates
kept), the declared column order, ``line_offered`` = the consensus line known at the
row's time, the line-relative feature computed from it, the label from the game itself,
every market's service (its own order and label, no request field unless it reads one;
one retrieval for all services equal to each alone), and the ``nbafs training-set``
command end to end.

On the real 2025-26 season (marker ``real_data``): for 500 random (player, noon
US/Eastern on a game date) pairs, the retrieved ``avg_usage_rate_last_7_games``,
``points_avg_last_5`` and ``points_line`` equal a direct pandas recomputation from the
imported box scores, team box scores and sportsbook lines.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from feature_repo import catalog
from nbafs import cli, timeline
from serving import training_set
from serving.training_set import build_training_set, entity_rows_for_range
from tests.feast_repo import _sample_store_home, applied_store, real_store, sample_store  # noqa: F401 - fixtures
from warehouse import storage


def _close(a: pd.Series, b: pd.Series) -> np.ndarray:
    x = pd.to_numeric(a, errors="coerce").astype("float64").to_numpy()
    y = pd.to_numeric(b, errors="coerce").astype("float64").to_numpy()
    return np.isclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_one_row_per_input_row_in_input_order_with_duplicates(sample_store):
    rows = entity_rows_for_range()
    assert len(rows) > 300
    picked = rows.sample(200, random_state=1)
    entity = pd.concat([picked, picked.head(25), picked.head(5)]).sample(frac=1, random_state=2)
    entity = entity[["player_lookup", "game_id", "game_date"]].reset_index(drop=True)

    out = build_training_set(entity, store=sample_store)

    assert len(out) == len(entity) == 230
    assert list(out.columns) == training_set.output_columns()
    assert out.columns.get_loc("usage_spike_score") - out.columns.get_loc("points_avg_last_5") == 8
    assert out["player_lookup"].tolist() == entity["player_lookup"].tolist()
    assert out["game_id"].tolist() == entity["game_id"].tolist()
    noon = entity["game_date"].map(timeline.noon_eastern)
    assert (out["event_timestamp"] == pd.to_datetime(noon, utc=True)).all()
    # duplicated inputs give identical outputs
    key = ["player_lookup", "game_id"]
    dup = out[out.duplicated(key, keep=False)]
    assert len(dup) >= 30
    assert (dup.groupby(key)[catalog.PLAYER_POINTS_V1[0]].nunique(dropna=False) == 1).all()


def test_line_offered_is_the_line_known_then_and_feeds_the_line_relative_feature(sample_store):
    entity = entity_rows_for_range()
    out = build_training_set(entity, store=sample_store)
    assert out["points_line"].notna().mean() > 0.2, "the sample season quotes lines for many players"
    assert _close(out["line_offered"], out["points_line"]).all()
    expected = out["points_avg_last_5"].astype("float64") - out["line_offered"]
    assert _close(out["points_avg_last_5_minus_line"], expected).all()


def test_label_is_the_points_of_that_game_and_nulls_stay_null(sample_store):
    entity = entity_rows_for_range().sample(150, random_state=3).reset_index(drop=True)
    out = build_training_set(entity, store=sample_store)
    con = storage.connect()
    truth = con.sql("SELECT player_lookup, game_id, points FROM nba_analytics.player_game_summary").df()
    con.close()
    merged = entity.merge(truth, on=["player_lookup", "game_id"], how="left")
    assert _close(out["points"], merged["points"]).all()
    assert str(out["games_played_season"].dtype) == "Int64" and str(out["is_home"].dtype) == "boolean"


def test_a_market_training_set_has_its_order_and_its_stat_as_label(sample_store):
    entity = entity_rows_for_range().sample(120, random_state=4).reset_index(drop=True)
    con = storage.connect()
    truth = con.sql("SELECT player_lookup, game_id, rebounds, points + rebounds + assists AS pra "
                    "FROM nba_analytics.player_game_summary").df()
    con.close()
    merged = entity.merge(truth, on=["player_lookup", "game_id"], how="left")
    for service, label in (("player_rebounds_v1", "rebounds"), ("player_pra_v1", "pra")):
        out = build_training_set(entity, store=sample_store, service=service)
        assert list(out.columns) == training_set.output_columns(service)
        assert "line_offered" not in out and list(out.columns[4:-1]) == list(catalog.SERVICES[service])
        assert training_set.label_column(service) == label and str(out[label].dtype) == "Int64"
        assert _close(out[label], merged[label]).all()
        assert out[f"{label}_avg_last_10"].notna().mean() > 0.8
        assert out["player_lookup"].tolist() == entity["player_lookup"].tolist()


def test_one_retrieval_for_every_service_equals_each_service_alone(sample_store):
    entity = entity_rows_for_range().sample(100, random_state=5).reset_index(drop=True)
    together = training_set.build_training_sets(entity, store=sample_store)
    assert list(together) == list(catalog.SERVICES)
    for service in ("player_points_v1", "player_threes_v1"):
        alone = build_training_set(entity, store=sample_store, service=service)
        assert list(together[service].columns) == list(alone.columns)
        for column in alone.columns:
            a, b = together[service][column], alone[column]
            same = _close(a, b) if column not in training_set.ENTITY_COLUMNS else (a == b).to_numpy()
            assert same.all(), (service, column)


def test_entity_rows_are_the_played_games_of_the_range(sample_store):
    rows = entity_rows_for_range()
    first, last = rows["game_date"].min(), rows["game_date"].max()
    mid = sorted(rows["game_date"].unique())[len(rows["game_date"].unique()) // 2]
    part = entity_rows_for_range(mid, last)
    assert part["game_date"].min() == mid and part["game_date"].max() == last
    con = storage.connect()
    played = con.execute(
        f"SELECT count(*) FROM nba_analytics.player_game_summary WHERE minutes > 0 AND game_date >= DATE '{mid}'"
    ).fetchone()[0]
    dnp = con.execute("SELECT count(*) FROM nba_analytics.player_game_summary WHERE minutes = 0").fetchone()[0]
    con.close()
    assert len(part) == played and dnp > 0 and first < mid
    assert not part.duplicated(["player_lookup", "game_id"]).any()


def test_cli_writes_the_training_set(data_dir, tmp_path, capsys):
    from transformations.runner import run as transform
    from warehouse import sample_season

    sample_season.generate(season="2025-26", seed=5, n_teams=4, games_per_team=10)
    transform(progress=None)
    applied_store(data_dir)  # registry.db and online_store.db where feature_store.yaml puts them
    out_file = tmp_path / "train.parquet"
    assert cli.main(["training-set", "--out", str(out_file)]) == 0
    table = pq.read_table(out_file)
    assert table.column_names == training_set.output_columns()
    assert table.num_rows == len(entity_rows_for_range())
    printed = capsys.readouterr().out
    assert "usage_spike_score" in printed and "wrote" in printed
    assert cli.main(["training-set", "--market", "threes", "--out", str(out_file)]) == 0
    assert pq.read_table(out_file).column_names == training_set.output_columns("player_threes_v1")
    assert "threes_made" in capsys.readouterr().out


def test_cli_without_data_says_what_to_do(data_dir, capsys):
    assert cli.main(["training-set", "--out", str(data_dir / "x.parquet")]) == 1
    assert "nbafs transform" in capsys.readouterr().err


# --- the real season ---------------------------------------------------------------------------


def _usage(box: pd.DataFrame, team: pd.DataFrame) -> pd.DataFrame:
    g = box.merge(team, on=["game_id", "team_abbr"], suffixes=("", "_team"))
    num = (g["fga"] + 0.44 * g["fta"] + g["turnovers"]) * (g["minutes_team"] / 5)
    den = g["minutes"] * (g["fga_team"] + 0.44 * g["fta_team"] + g["turnovers_team"])
    g["usage"] = (100 * num / den).where(g["minutes"] > 0)
    return g


def _recompute(pairs: pd.DataFrame, box: pd.DataFrame, odds: pd.DataFrame) -> pd.DataFrame:
    played = box[box["minutes"] > 0].sort_values("game_date")
    by_player = dict(tuple(played.groupby("player_lookup")))
    out = []
    for r in pairs.itertuples():
        games = by_player.get(r.player_lookup, played.iloc[:0])
        before = games[games["game_date"] < r.game_date]
        last7, last5 = before.tail(7), before.tail(5)
        quotes = odds[(odds["player_lookup"] == r.player_lookup) & (odds["game_id"] == r.game_id)
                      & (odds["snapshot_at"] <= r.event_timestamp)]
        if len(quotes):
            latest = quotes[quotes["snapshot_at"] == quotes["snapshot_at"].max()]
            line = float(latest["points_line"].median())
        else:
            line = np.nan
        out.append({
            "avg_usage_rate_last_7_games": last7["usage"].mean() if len(last7) else np.nan,
            "points_avg_last_5": last5["points"].mean() if len(last5) else np.nan,
            "points_line": line,
        })
    return pd.DataFrame(out)


@pytest.mark.real_data
def test_real_season_values_equal_a_recomputation_from_the_raw_tables(real_store):
    con = storage.connect()
    box = con.sql(
        "SELECT player_lookup, game_id, game_date, team_abbr, minutes, points, fga, fta, turnovers "
        "FROM nba_raw.bdl_player_boxscores"
    ).df()
    team = con.sql("SELECT game_id, team_abbr, minutes, fga, fta, turnovers FROM nba_raw.team_boxscores").df()
    odds = con.sql(
        "SELECT player_lookup, game_id, points_line, snapshot_at FROM nba_raw.odds_api_player_points_props"
    ).df()
    con.close()
    box["game_date"] = pd.to_datetime(box["game_date"]).dt.date
    box = _usage(box, team)

    rows = entity_rows_for_range()
    pairs = rows.sample(500, random_state=11, replace=False)
    # lines exist only for Oct 21 .. Dec 6: make sure the sample covers them
    with_lines = rows[rows["game_date"] <= pd.Timestamp("2025-12-06").date()].sample(100, random_state=12)
    pairs = pd.concat([pairs.iloc[:400], with_lines, pairs.iloc[:20]]).reset_index(drop=True)  # 20 duplicates

    out = build_training_set(pairs, store=real_store)
    assert len(out) == len(pairs) == 520
    assert out["player_lookup"].tolist() == pairs["player_lookup"].tolist()

    truth = _recompute(pairs, box, odds)
    for name in ("avg_usage_rate_last_7_games", "points_avg_last_5", "points_line"):
        ok = _close(out[name], truth[name])
        bad = np.flatnonzero(~ok)
        assert ok.all(), (
            f"{name}: {len(bad)} of {len(ok)} rows differ, e.g. {pairs.loc[bad[0], ['player_lookup', 'game_id', 'game_date']].to_dict()}: "
            f"retrieved {out.loc[bad[0], name]!r}, recomputed {truth.loc[bad[0], name]!r}"
        )
    assert out["points_line"].notna().sum() >= 60, "the lines era is covered"
    assert out["avg_usage_rate_last_7_games"].notna().mean() > 0.9
