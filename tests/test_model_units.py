"""Unit tests of the model's pure parts on small frames: feature matrix (NULL stays
NULL), time split, baselines and over/under metrics, training-set fingerprint, the
residual model behind P(over), and fit-and-evaluate without leakage."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from feature_repo.catalog import PLAYER_POINTS_V1
from model.dataset import FEATURES, feature_matrix, game_dates
from model.evaluate import default_eval_start, evaluate, over_under, time_split
from model.fingerprint import fingerprint
from model.residuals import ResidualModel
from model.train import fit_and_evaluate
from nbafs.timeline import noon_eastern


def synthetic_training_set(n_players=40, n_days=60, seed=0) -> pd.DataFrame:
    """Players with a true scoring level; points = level + noise; features built from
    earlier games only; some NULLs where a real store has them (first games, no line)."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(4, 30, n_players)
    rows = []
    history: dict[int, list[float]] = {p: [] for p in range(n_players)}
    start = dt.date(2025, 10, 21)
    for d in range(n_days):
        day = start + dt.timedelta(days=d)
        for p in range(n_players):
            if rng.random() < 0.5:
                continue
            h = history[p]
            pts = float(max(0, round(levels[p] + rng.normal(0, 4))))
            row = {f: (rng.normal(1, 0.2) if rng.random() < 0.9 else np.nan) for f in PLAYER_POINTS_V1}
            row.update(
                player_lookup=f"player{p}", game_id=f"g{d}_{p // 2}", event_timestamp=noon_eastern(day),
                points=pts,
                points_avg_last_5=np.mean(h[-5:]) if h else np.nan,
                points_avg_last_10=np.mean(h[-10:]) if h else np.nan,
                points_avg_season=np.mean(h) if h else np.nan,
                games_played_season=len(h),
                is_home=bool(rng.random() < 0.5),
                is_back_to_back=None if not h else bool(rng.random() < 0.2),
                points_line=(round(levels[p]) + 0.5) if rng.random() < 0.3 else np.nan,
            )
            rows.append(row)
            h.append(pts)
    df = pd.DataFrame(rows)
    df["event_timestamp"] = pd.to_datetime(df["event_timestamp"], utc=True)
    return df


def test_feature_matrix_keeps_nulls_and_order():
    df = pd.DataFrame({f: [1.0, np.nan] for f in FEATURES})
    df["is_back_to_back"] = pd.Series([True, None], dtype=object)
    df["is_home"] = pd.Series([False, True], dtype=object)
    df["games_played_season"] = pd.Series([0, 3], dtype="Int64")
    m = feature_matrix(df.iloc[:, ::-1])  # columns in any order come back in the service's order
    assert list(m.columns) == list(FEATURES)
    assert m["is_back_to_back"].tolist()[0] == 1.0 and np.isnan(m["is_back_to_back"].tolist()[1])
    assert m["is_home"].tolist() == [0.0, 1.0]
    assert np.isnan(m["points_avg_last_5"].iloc[1]), "a NULL feature must stay NaN, never become 0"
    assert m["games_played_season"].tolist() == [0.0, 3.0]


def test_feature_matrix_names_a_missing_feature():
    df = pd.DataFrame({f: [1.0] for f in FEATURES if f != "usage_spike_score"})
    with pytest.raises(KeyError, match="usage_spike_score"):
        feature_matrix(df)


def test_game_date_is_the_eastern_date_of_noon_eastern():
    ts = pd.Series(pd.to_datetime([noon_eastern(dt.date(2025, 12, 31))], utc=True))
    assert game_dates(pd.DataFrame({"event_timestamp": ts})).tolist() == [dt.date(2025, 12, 31)]


def test_time_split_never_mixes_dates():
    dates = pd.Series([dt.date(2025, 11, 1) + dt.timedelta(days=i % 10) for i in range(100)])
    start = default_eval_start(dates)
    assert start == dt.date(2025, 11, 9)  # 80% through 10 distinct dates
    s = time_split(dates, start)
    assert max(dates[s.train_mask]) < min(dates[s.eval_mask])
    assert s.n_train + s.n_eval == 100


def test_default_eval_start_needs_two_dates():
    with pytest.raises(ValueError):
        default_eval_start([dt.date(2025, 11, 1)])


def test_over_under_excludes_pushes_and_no_calls():
    actual = np.array([20, 10, 15, 30, 12, 8])
    pred = np.array([25, 14, 16, 15.5, 12.5, 9])
    line = np.array([18.5, 12.5, 15.0, 15.5, np.nan, 7.5])
    r = over_under(actual, pred, line)
    # row0 over/over ok; row1 over/under wrong; row2 push excluded; row3 pred==line no call;
    # row4 no line; row5 over/over ok
    assert r == {"rows_with_line": 5, "pushes": 1, "calls": 3, "correct": 2, "accuracy": 2 / 3,
                 "under_share": 1 / 4}


def test_baselines_scored_where_they_exist_and_model_on_the_same_rows():
    frame = pd.DataFrame({
        "points": [10.0, 20.0, 30.0, 40.0],
        "points_avg_season": [12.0, np.nan, 27.0, 40.0],
        "points_avg_last_5": [np.nan, np.nan, np.nan, 35.0],
        "points_line": [np.nan] * 4,
    })
    pred = np.array([11.0, 21.0, 33.0, 36.0])
    m = evaluate(frame, pred)
    assert m["model_mae"] == pytest.approx((1 + 1 + 3 + 4) / 4)
    sa = m["baselines"]["season_avg"]
    assert sa["rows"] == 3 and sa["mae"] == pytest.approx((2 + 3 + 0) / 3)
    assert sa["model_mae_same_rows"] == pytest.approx((1 + 3 + 4) / 3)
    assert m["baselines"]["last_5"]["rows"] == 1 and m["baselines"]["last_5"]["mae"] == 5
    assert m["baselines"]["line"]["rows"] == 0 and m["baselines"]["line"]["mae"] is None
    assert m["over_under"]["accuracy"] is None


def test_fingerprint_is_deterministic_order_free_and_sensitive():
    df = synthetic_training_set(n_players=6, n_days=8)
    cols = ["points", *PLAYER_POINTS_V1]
    fp = fingerprint(df, cols)
    assert fp == fingerprint(df.sample(frac=1.0, random_state=3), cols), "row order must not matter"
    changed = df.copy()
    changed.loc[changed.index[5], "points_avg_last_5"] = 99.0
    assert fingerprint(changed, cols) != fp
    nan_to_zero = df.copy()
    row = nan_to_zero.index[nan_to_zero["points_line"].isna()][0]
    nan_to_zero.loc[row, "points_line"] = 0.0
    assert fingerprint(nan_to_zero, cols) != fp, "NULL and 0 must hash differently"
    moved = df.copy()
    moved["event_timestamp"] = moved["event_timestamp"] + pd.Timedelta(seconds=1)
    assert fingerprint(moved, cols) != fp, "the time asked is part of the entity row"


def test_fingerprint_ignores_float_noise_past_12_significant_digits_only():
    """BigQuery and DuckDB may differ in the last bits of a float: the same set hashes the same."""
    df = synthetic_training_set(n_players=6, n_days=8)
    cols = ["points", *PLAYER_POINTS_V1]
    floats = [c for c in cols if df[c].dtype == "float64"]
    noisy = df.copy()
    for c in floats:
        noisy[c] = noisy[c] * (1 + 4e-16)  # a couple of ulps
    noisy.loc[noisy.index[0], floats[0]] = 0.0
    base = df.copy()
    base.loc[base.index[0], floats[0]] = -0.0
    assert fingerprint(noisy, cols) == fingerprint(base, cols)
    assert fingerprint(df.assign(points_avg_last_5=21.4), cols) != fingerprint(
        df.assign(points_avg_last_5=21.4000000001), cols), "the 12th significant digit counts"
    assert fingerprint(df.assign(points_avg_last_5=21.4), cols) == fingerprint(
        df.assign(points_avg_last_5=21.40000000001), cols), "the 13th does not"
    assert fingerprint(df.assign(points_avg_last_5=9.9999999999996), cols) == fingerprint(
        df.assign(points_avg_last_5=10.0), cols), "rounding up to the next power of ten"


def test_residual_model_probability_follows_the_line():
    rng = np.random.default_rng(1)
    pred = rng.uniform(5, 30, 2000)
    actual = pred + rng.normal(0, 5, 2000)
    rm = ResidualModel.fit(pred, actual)
    p = rm.p_over(np.array([20.0, 20.0, 20.0, 20.0]), np.array([10.5, 19.5, 20.5, 30.5]))
    assert 0 < p[3] < p[2] < p[1] < p[0] < 1
    assert p[0] > 0.9 and p[3] < 0.1
    assert abs(p[1] + p[2] - 1) < 0.2  # symmetric noise, lines either side of the prediction
    assert np.isnan(rm.p_over(np.array([20.0]), np.array([np.nan]))[0])
    again = ResidualModel.from_json(rm.to_json())
    assert np.allclose(again.p_over(np.array([12.0]), np.array([14.5])), rm.p_over(np.array([12.0]), np.array([14.5])))


def test_fit_and_evaluate_trains_only_on_earlier_dates_and_beats_last_5():
    df = synthetic_training_set()
    pipeline, metrics, residuals, eval_rows = fit_and_evaluate(df)
    assert metrics["train"]["last_date"] < metrics["eval"]["first_date"]
    assert metrics["train"]["rows"] + metrics["eval"]["rows"] == len(df)
    assert len(eval_rows) == metrics["eval"]["rows"]
    assert eval_rows["game_date"].min().isoformat() == metrics["eval_start"]
    last5 = metrics["eval"]["baselines"]["last_5"]
    assert last5["model_mae_same_rows"] < last5["mae"]
    assert metrics["features"] == list(FEATURES)


def test_training_refuses_a_feature_null_everywhere():
    """The original bug: a feature silently absent. Training must name it, not ignore it."""
    from nbafs.errors import UserError

    df = synthetic_training_set(n_players=10, n_days=10)
    df["usage_spike_score"] = np.nan
    with pytest.raises(UserError, match="usage_spike_score"):
        fit_and_evaluate(df)


def test_skew_compare_counts_value_and_null_mismatches_per_feature():
    """The skew check flags a differing value and a NULL-vs-value, and tolerates float noise."""
    from model.skew import compare

    base = {f: [1.0, 2.0, np.nan] for f in PLAYER_POINTS_V1}
    online = pd.DataFrame({"player_lookup": ["a", "b", "c"], **base})
    historical = online.iloc[::-1].copy()  # order must not matter
    historical["points_avg_last_5"] = historical["points_avg_last_5"] + 1e-12  # float noise
    historical.loc[historical["player_lookup"] == "a", "usage_spike_score"] = 0.0  # the old silent default
    historical.loc[historical["player_lookup"] == "c", "points_line"] = 21.5  # NULL online, value historical
    r = compare(online, historical)
    assert r["usage_spike_score"]["mismatches"] == 1
    assert r["usage_spike_score"]["examples"] == [{"player_lookup": "a", "online": 1.0, "historical": 0.0}]
    assert r["points_line"]["mismatches"] == 1
    assert r["points_avg_last_5"]["mismatches"] == 0 and r["points_avg_last_5"]["both_null"] == 1
    assert sum(v["mismatches"] for v in r.values()) == 2


def test_predict_table_sorted_by_edge_with_calls_and_probabilities():
    """Slate scoring: lined players first by |edge|, call follows the sign of the edge,
    P(call) >= 0.5 for a confident call, the missing-feature count is reported."""
    from model.artifacts import SavedModel
    from model.predict import score

    df = synthetic_training_set(n_players=60, n_days=40)
    pipeline, metrics, residuals, _ = fit_and_evaluate(df)
    saved = SavedModel("t", None, pipeline, list(FEATURES), {}, metrics, residuals)
    slate = df.tail(30).drop(columns=["points"]).reset_index(drop=True)
    slate.loc[:9, "points_line"] = np.arange(10) * 3 + 2.5
    slate.loc[10:, "points_line"] = np.nan
    t = score(slate, saved)
    assert len(t) == 30
    lined = t[t["points_line"].notna()]
    assert list(lined.index) == list(range(10)), "players with a line come first"
    assert (lined["edge"].abs().diff().dropna() <= 0).all(), "sorted by |edge|"
    assert ((lined["edge"] > 0) == (lined["call"] == "over")).all()
    big = lined[lined["edge"].abs() > 8]
    assert (big["p_call"] > 0.5).all()
    assert t.loc[10:, "call"].isna().all() and t.loc[10:, "p_over"].isna().all()
    assert (t["missing_features"] >= 0).all() and t["missing_features"].max() > 0


def test_closing_line_is_a_second_line_for_over_under_and_a_baseline():
    """When the frame carries the closing line, over/under is also judged against it,
    for the model and for the average baselines, and the closing line is a baseline."""
    frame = pd.DataFrame({
        "points": [20.0, 10.0, 30.0],
        "points_avg_season": [18.0, 12.0, 25.0],
        "points_avg_last_5": [np.nan, 9.0, 31.0],
        "points_line": [np.nan, np.nan, 27.5],  # known when asked only for the last row
        "closing_line": [19.5, 11.5, 27.5],
    })
    pred = np.array([21.0, 12.0, 26.0])
    m = evaluate(frame, pred)
    assert m["over_under"]["rows_with_line"] == 1 and m["over_under"]["accuracy"] == 0.0
    assert m["over_under_closing"] == {"rows_with_line": 3, "pushes": 0, "calls": 3, "correct": 1,
                                       "accuracy": 1 / 3, "under_share": 1 / 3}
    assert m["baselines"]["closing_line"]["mae"] == pytest.approx((0.5 + 1.5 + 2.5) / 3)
    assert m["baselines"]["last_5"]["over_under_closing"]["calls"] == 2


def test_model_selection_uses_training_dates_only():
    """Model selection never sees the evaluation dates: its inner split lies inside the
    training dates, and the chosen target and size are candidates of the grid."""
    from model.train import ITERATION_GRID, TARGETS

    df = synthetic_training_set()
    _, metrics, _, _ = fit_and_evaluate(df)
    sel = metrics["model_selection"]
    assert sel["inner_eval_start"] <= metrics["train"]["last_date"] < metrics["eval_start"]
    assert sel["max_iter"] in ITERATION_GRID and metrics["hyperparameters"]["max_iter"] == sel["max_iter"]
    assert sel["target"] in TARGETS
    assert sel["inner_rows"]["fit"] + sel["inner_rows"]["scored"] == metrics["train"]["rows"]
    assert len(sel["inner_mae"]) == len(ITERATION_GRID) * len(TARGETS)


def test_offset_regressor_keeps_nulls_and_adds_the_baseline_back():
    """Fitting to points minus the season average: a row without a season average gets
    offset 0 (its feature stays NaN for the trees), and predictions add the offset back."""
    from model.estimator import OffsetRegressor

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"points_avg_season": rng.uniform(2, 35, 500), "other": rng.normal(size=500)})
    X.loc[:19, "points_avg_season"] = np.nan
    y = np.nan_to_num(X["points_avg_season"].to_numpy(), nan=8.0) + rng.normal(0, 1, 500)
    m = OffsetRegressor("points_avg_season", {"max_iter": 50, "loss": "absolute_error"}).fit(X, y)
    star = pd.DataFrame({"points_avg_season": [34.0], "other": [0.0]})
    assert abs(m.predict(star)[0] - 34.0) < 2.5, "the level comes from the offset, not from rare leaves"
    assert np.isnan(X["points_avg_season"].iloc[0]), "the feature itself is never filled"
    staged = list(m.staged_predict(star))
    assert len(staged) == 50 and staged[-1][0] == pytest.approx(m.predict(star)[0])


def test_train_on_an_empty_warehouse_says_what_to_do(data_dir):
    from model.train import train
    from nbafs.errors import UserError

    with pytest.raises(UserError, match="generate or import"):
        train("2025-11-01", "2025-12-01")
    with pytest.raises(UserError, match="--eval-start"):
        train("2025-11-01", "2025-12-01", eval_start="2026-01-01")


def test_predict_without_a_trained_model_says_how_to_train(data_dir):
    from model import artifacts
    from nbafs.errors import UserError

    with pytest.raises(UserError, match="nbafs train"):
        artifacts.load("nope")
