"""Unit tests of the model's pure parts on small frames: feature matrix (NULL stays
NULL), each market's features (never a line) and label, time split, baselines and
over/under metrics, training-set fingerprint, the residual model behind P(over) and its
out-of-sample fit on the training dates, fit-and-evaluate without leakage, the slate
table sorted by a probability edge."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from feature_repo import catalog
from feature_repo.catalog import PLAYER_POINTS_V1
from model.dataset import FEATURES, feature_matrix, features_for, game_dates, label_for
from model.evaluate import default_eval_start, evaluate, over_under, time_split
from model.fingerprint import fingerprint
from model.residuals import ResidualModel
from model.train import fit_and_evaluate
from nbafs.timeline import noon_eastern
from warehouse.markets import MARKETS, POINTS, REBOUNDS, market as market_named


def synthetic_training_set(n_players=40, n_days=60, seed=0, market=POINTS, availability_effect=0.0) -> pd.DataFrame:
    """Players with a true level of the market's stat; stat = level + noise (+ a share of the
    usage vacated by absent teammates, times ``availability_effect``); features built from
    earlier games only; some NULLs where a real store has them (first games, no line)."""
    rng = np.random.default_rng(seed)
    scale = 1.0 if market.stat in ("points", "pra") else 0.35
    levels = rng.uniform(4, 30, n_players) * scale
    rows = []
    history: dict[int, list[float]] = {p: [] for p in range(n_players)}
    start = dt.date(2025, 10, 21)
    s = market.stat
    for d in range(n_days):
        day = start + dt.timedelta(days=d)
        for p in range(n_players):
            if rng.random() < 0.5:
                continue
            h = history[p]
            vacated = float(rng.choice([0.0, 0.0, 0.0, 10.0, 25.0]))
            value = float(max(0, round(levels[p] + rng.normal(0, 4 * scale) + availability_effect * vacated)))
            row = {f: (rng.normal(1, 0.2) if rng.random() < 0.9 else np.nan) for f in catalog.SERVICES[market.service]}
            row.update({
                "player_lookup": f"player{p}", "game_id": f"g{d}_{p // 2}", "event_timestamp": noon_eastern(day),
                s: value,
                f"{s}_avg_last_5": np.mean(h[-5:]) if h else np.nan,
                f"{s}_avg_last_10": np.mean(h[-10:]) if h else np.nan,
                f"{s}_avg_season": np.mean(h) if h else np.nan,
                "games_played_season": len(h),
                "is_home": bool(rng.random() < 0.5),
                "is_back_to_back": None if not h else bool(rng.random() < 0.2),
                "vacated_usage_share": vacated,
                market.line_feature: (round(levels[p]) + 0.5) if rng.random() < 0.3 else np.nan,
            })
            row[market.over_prob_feature] = 0.5 if not np.isnan(row[market.line_feature]) else np.nan
            rows.append(row)
            h.append(value)
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
    # values with 10 significant digits: none lies within a few ulps of a 12-digit rounding boundary
    # (a random draw may, 1 in ~10,000; the noise would then move it across, as it could any hash)
    df[floats] = df[floats].apply(lambda col: col.map(lambda v: float(f"{v:.10g}")))
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
    """Slate scoring: call = over when the model's P(over) > 0.5 (the rule the bets are scored
    by); edge = the model's P(call) minus the market's no-vig P of that side; rows with an
    edge first, largest first, then a line without a market probability, no line last."""
    from model.artifacts import SavedModel
    from model.predict import score, sort_by_edge

    df = synthetic_training_set(n_players=60, n_days=40)
    pipeline, metrics, residuals, _ = fit_and_evaluate(df)
    saved = SavedModel("t", None, pipeline, list(FEATURES), {}, metrics, residuals)
    slate = df.tail(30).drop(columns=["points"]).reset_index(drop=True)
    slate.loc[:9, "points_line"] = np.arange(10) * 3 + 2.5
    slate.loc[:9, "points_over_prob_no_vig"] = np.linspace(0.3, 0.7, 10)
    slate.loc[10:14, "points_line"] = 15.5
    slate.loc[10:14, "points_over_prob_no_vig"] = np.nan
    slate.loc[15:, ["points_line", "points_over_prob_no_vig"]] = np.nan
    t = sort_by_edge(score(slate, saved, POINTS))
    assert len(t) == 30 and (t["market"] == "points").all()
    edged = t[t["edge"].notna()]
    assert list(edged.index) == list(range(len(edged))), "rows with an edge come first"
    assert len(edged) + int((t["call"] == "none").sum()) == 10
    assert (edged["edge"].diff().dropna() <= 0).all(), "sorted by edge, largest first"
    assert ((edged["p_over"] > 0.5) == (edged["call"] == "over")).all()
    over = edged["call"] == "over"
    expected = np.where(over, edged["p_over"] - edged["market_p_over"], edged["market_p_over"] - edged["p_over"])
    assert np.allclose(edged["edge"], expected, atol=2e-3)
    assert np.allclose(edged["p_call"] - edged["market_p_call"], edged["edge"], atol=2e-3)
    lined = t.iloc[len(edged):len(edged) + 5]
    assert lined["line"].notna().all() and lined["edge"].isna().all() and lined["call"].notna().all()
    rest = t[t["line"].isna()]
    assert list(rest.index) == list(range(15, 30)), "players without a line last"
    assert rest["call"].isna().all() and rest["p_over"].isna().all()
    assert (rest["predicted"].diff().dropna() <= 0).all()
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
    from model.train import train_markets

    with pytest.raises(UserError, match="no such feature group; groups: availability"):
        train_markets("2025-11-01", "2025-12-01", without=("injuries",))


def test_predict_without_a_trained_model_says_how_to_train(data_dir):
    from model import artifacts
    from nbafs.errors import UserError

    with pytest.raises(UserError, match="nbafs train"):
        artifacts.load("nope")
    with pytest.raises(UserError, match="--market rebounds"):
        artifacts.load("player_rebounds_v1")
    from model.predict import predict

    with pytest.raises(UserError, match="no trained model for any market.*nbafs train"):
        predict("2025-11-20")


# --- every market ---------------------------------------------------------------------------


def test_every_market_learns_from_its_service_order_but_never_a_line():
    """The regressor never reads a line (served, shown, evaluated against); everything
    else of the service is learned from, in the service's order; --without drops a group."""
    assert FEATURES == features_for(POINTS)
    for m in MARKETS:
        order = catalog.SERVICES[m.service]
        learned = features_for(m)
        assert list(learned) == [f for f in order if f in learned], "the service's order"
        assert set(order) - set(learned) == set(catalog.line_features(m))
        assert not [f for f in learned if f.endswith("_line") or "over_prob" in f], m.name
        reduced = features_for(m, drop=("availability",))
        assert set(learned) - set(reduced) == set(catalog.AVAILABILITY)
        assert list(reduced) == [f for f in learned if f in reduced]
        assert label_for(m) == m.stat and label_for(m) not in order
    with pytest.raises(KeyError, match="availability"):
        features_for(POINTS, drop=("injuries",))


def _player_game_summary(rows: list[dict]):
    """A player_game_summary table holding ``rows`` (every other column a plain value)."""
    import pyarrow as pa

    from warehouse.schema import PLAYER_GAME_SUMMARY

    plain = {"STRING": "x", "INT64": 0, "FLOAT64": 1.0, "BOOL": False, "DATE": dt.date(2025, 11, 1),
             "TIMESTAMP": dt.datetime(2025, 11, 2, 6, tzinfo=dt.timezone.utc)}
    data = {c.name: [r.get(c.name, plain[c.type]) for r in rows] for c in PLAYER_GAME_SUMMARY.columns}
    return pa.Table.from_pydict(data, schema=PLAYER_GAME_SUMMARY.arrow_schema())


def test_label_per_market_is_the_box_score_sum_and_null_when_a_part_is(data_dir):
    """The label of each market is its stat in that very game (pra = points + rebounds +
    assists, threes = fg3m), joined on (player, game) whatever the row order; NULL when a
    summed column is NULL or the game has no row, never 0."""
    from serving.training_set import labels, labels_by_market
    from warehouse import engine
    from warehouse.schema import PLAYER_GAME_SUMMARY

    engine.current().write_partitions(PLAYER_GAME_SUMMARY, _player_game_summary([
        dict(game_id="g1", player_lookup="a", points=20, rebounds=7, assists=5, fg3m=3),
        dict(game_id="g1", player_lookup="b", points=11, rebounds=None, assists=2, fg3m=0),
        dict(game_id="g2", player_lookup="a", points=None, rebounds=9, assists=4, fg3m=None),
    ]))
    rows = pd.DataFrame({"player_lookup": ["a", "b", "a", "c", "a"], "game_id": ["g2", "g1", "g1", "g1", "g1"]},
                        index=[10, 11, 12, 13, 14])
    got = labels_by_market(rows)
    assert list(got.columns) == [m.stat for m in MARKETS] and list(got.index) == [10, 11, 12, 13, 14]
    assert all(str(got[c].dtype) == "Int64" for c in got)

    def values(col):
        return [None if pd.isna(v) else int(v) for v in got[col]]

    assert values("points") == [None, 11, 20, None, 20]
    assert values("rebounds") == [9, None, 7, None, 7]
    assert values("assists") == [4, 2, 5, None, 5]
    assert values("threes_made") == [None, 0, 3, None, 3]
    assert values("pra") == [None, None, 32, None, 32]
    assert labels(rows, "threes").tolist()[1:3] == [0, 3] and labels(rows).name == "points"


def test_residual_model_is_fit_out_of_sample_on_the_training_dates_only():
    """P(over) comes from residuals of the inner validation rows (the last training dates),
    predicted by the chosen-size model fit on the earlier training dates; the evaluation
    rows, where P(over) is judged, never enter it."""
    from model.train import make_pipeline

    df = synthetic_training_set()
    _, metrics, residuals, _ = fit_and_evaluate(df)
    sel, eval_start = metrics["model_selection"], dt.date.fromisoformat(metrics["eval_start"])
    assert metrics["residuals"]["rows"] == sel["inner_rows"]["scored"]
    assert sel["inner_eval_start"] == metrics["residuals"]["first_date"] < metrics["eval_start"]

    dates = game_dates(df)
    train_rows = df[(dates < eval_start).to_numpy()]
    inner = time_split(game_dates(train_rows), dt.date.fromisoformat(sel["inner_eval_start"]))
    fit_rows, val_rows = train_rows[inner.train_mask], train_rows[inner.eval_mask]
    probe = make_pipeline(FEATURES, sel["target"], sel["max_iter"]).fit(fit_rows, fit_rows["points"].to_numpy(float))
    expected = ResidualModel.fit(probe.predict(val_rows), val_rows["points"].to_numpy(float))
    assert residuals.edges == pytest.approx(expected.edges)
    assert [len(r) for r in residuals.residuals] == [len(r) for r in expected.residuals]
    assert all(np.allclose(a, b) for a, b in zip(residuals.residuals, expected.residuals))

    shifted = df.copy()
    shifted.loc[(dates >= eval_start).to_numpy(), "points"] += 7.0  # only the evaluation outcomes change
    _, _, again, _ = fit_and_evaluate(shifted)
    assert again.residuals == residuals.residuals and again.edges == residuals.edges


def test_a_market_is_fit_on_its_own_stat_features_and_baselines():
    df = synthetic_training_set(market=REBOUNDS, n_players=30, n_days=40)
    _, metrics, residuals, eval_rows = fit_and_evaluate(df, market=REBOUNDS)
    assert metrics["label"] == "rebounds" and metrics["features"] == list(features_for(REBOUNDS))
    assert metrics["hyperparameters"]["target"] == "rebounds_avg_season"
    base = metrics["eval"]["baselines"]
    assert {k: v["feature"] for k, v in base.items()} == {
        "season_avg": "rebounds_avg_season", "last_5": "rebounds_avg_last_5", "last_10": "rebounds_avg_last_10",
        "line": "rebounds_line"}
    assert base["line"]["rows"] == int(eval_rows["rebounds_line"].notna().sum()) > 0
    assert (eval_rows["market"] == "rebounds").all()
    lined = eval_rows["rebounds_line"].notna()
    assert eval_rows.loc[lined, "p_over_asked"].between(0, 1).all() and eval_rows.loc[~lined, "p_over_asked"].isna().all()


def test_without_availability_is_the_same_split_and_its_effect_is_measured():
    """Trained with and without the availability group on the same rows and dates; where
    the stat does depend on vacated usage, leaving the group out costs MAE."""
    from model.train import TrainResult, feature_effect

    df = synthetic_training_set(n_players=30, n_days=45, availability_effect=0.4)
    full = fit_and_evaluate(df)
    reduced = fit_and_evaluate(df, features=features_for(POINTS, drop=("availability",)))
    assert full[1]["eval_start"] == reduced[1]["eval_start"] and full[1]["eval"]["rows"] == reduced[1]["eval"]["rows"]
    effect = feature_effect(TrainResult("full", None, full[1], full[0], df, full[3], POINTS, full[2]),
                            TrainResult("reduced", None, reduced[1], reduced[0], df, reduced[3], POINTS, reduced[2]))
    assert effect["left_out"] == list(catalog.AVAILABILITY)
    assert effect["with"]["mae"] == full[1]["eval"]["model_mae"]
    assert effect["mae_change_without"] == pytest.approx(effect["without"]["mae"] - effect["with"]["mae"])
    assert effect["mae_change_without"] > 0.1, effect
    assert effect["with"]["brier"] is None  # no bets in a frame without offers


def test_market_names_resolve_for_the_command_line():
    from nbafs.errors import UserError

    assert market_named("threes") is market_named("player_threes") is market_named(market_named("threes"))
    with pytest.raises(UserError, match="markets: points, rebounds"):  # printed by the CLI, no traceback
        market_named("steals")
    with pytest.raises(KeyError):
        market_named("steals")


# --- two markets end to end on a small generated league -----------------------------------------


@pytest.fixture
def league(tmp_path_factory, data_dir):
    """A copy of the session's small season (6 teams, 20 games each: generated, transformed, applied)."""
    import shutil

    from tests import backfill_support
    from warehouse import storage

    shutil.copytree(backfill_support.template(tmp_path_factory), data_dir, dirs_exist_ok=True)
    con = storage.connect()
    dates = [r[0] for r in con.execute(
        "SELECT DISTINCT game_date FROM nba_analytics.upcoming_player_game_context ORDER BY 1").fetchall()]
    con.close()
    day = dates[int(0.75 * len(dates))]
    return {"dates": dates, "day": day, "first": dates[0], "last_train": max(d for d in dates if d < day)}


def test_two_markets_train_judge_and_predict_through_their_own_services(league, capsys):
    """nbafs train for two markets: each model saved under its service name with its own
    features, judged on the same split (MAE, bets at the bet snapshot, P(over) from
    training-date residuals), the availability effect measured on that split, the
    reliability chart drawn; then nbafs predict puts both markets of the slate in one
    table sorted by edge."""
    from model import artifacts
    from model.predict import predict
    from model.train import train_markets
    from nbafs.cli import main
    from nbafs.profile import feature_store
    from tests.backfill_support import WINDOW

    lines: list[str] = []
    run = train_markets(league["first"], league["last_train"], markets=["points", "rebounds"],
                        without=("availability",), progress=lines.append)
    assert list(run.results) == ["points", "rebounds"]
    assert len([line for line in lines if line.startswith("[")]) == 4, lines
    for name, r in run.results.items():
        m = r.metrics
        assert m["model"] == f"player_{name}_v1" and m["eval_start"] == run.eval_start.isoformat()
        saved = artifacts.load(m["model"])
        assert saved.features == list(features_for(market_named(name)))
        assert m["residuals"]["first_date"] < m["eval_start"] and m["residuals"]["rows"] > 0
        bets = m["betting"]
        assert bets["rows"] == m["eval"]["rows"] and 0 < bets["bets"] <= bets["rows_with_line"] and bets["verdict"]
        ev = artifacts.eval_predictions(m["model"])
        assert len(ev) == m["eval"]["rows"] and {"bet_line", "p_over", "best_under_price"} <= set(ev.columns)
        assert ev.loc[ev["bet_line"].notna(), "p_over"].between(0, 1).all() and ev["game_date"].min() >= run.eval_start
        effect = run.effect[name]
        assert effect["without"]["model"] == f"player_{name}_v1_without_availability"
        assert effect["with"]["rows"] == effect["without"]["rows"] and effect["left_out"] == list(catalog.AVAILABILITY)
        assert artifacts.exists(effect["without"]["model"])
    assert run.chart.exists() and run.to_json()["table"]["rebounds"]["bets"] == run.results["rebounds"].metrics["betting"]["bets"]

    day = league["day"]
    feature_store().materialize(WINDOW[0], noon_eastern(day))
    slate = predict(day)
    assert slate.untrained == ["assists", "threes", "pra"] and set(slate.table["market"]) == {"points", "rebounds"}
    players = slate.vectors["points"]["player_lookup"]
    assert len(slate.market("rebounds")) == len(slate.market("points")) == len(players) > 0
    edged = slate.table[slate.table["edge"].notna()]
    assert len(edged) > 0 and list(edged.index) == list(range(len(edged)))
    assert (edged["edge"].diff().dropna() <= 0).all() and set(edged["market"]) == {"points", "rebounds"}
    assert slate.table["line"].isna().to_numpy()[len(edged):].any()
    capsys.readouterr()
    assert main(["predict", "--date", day.isoformat(), "--market", "rebounds", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["models"] == {"rebounds": "player_rebounds_v1"} and out["rows"] == len(players)
    assert {"market", "predicted", "line", "p_over", "market_p_over", "call", "edge"} <= set(out["predictions"][0])
