"""Quality gates (materialize/gates.py) judge chunks as the catalog declares, with messages people can act on.

Protects: the old failure (usage_spike_score 0 everywhere) and its twin (usage NULL
everywhere) stop a run; the message names feature, date, measured figure, threshold and
upstream columns; honest NULLs on small early-season dates do not; eligible_when selects
the rows judged; the critical features' thresholds are at least as strict as the issue
asks; every served batch feature has a gate whose condition columns exist in its table.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from feature_repo import catalog
from materialize import gates
from warehouse import schema

D1, D2 = dt.date(2025, 12, 1), dt.date(2025, 12, 2)


def chunk(**columns) -> pa.Table:
    n = len(next(iter(columns.values())))
    dates = columns.pop("dates", [D1] * n)
    return pa.table({gates.DATE_COLUMN: pa.array(dates, pa.date32()), **columns})


def judge(table: pa.Table, features: list[str]) -> tuple[dict, list[gates.GateFailure]]:
    gs = gates.gates_for("v", features)
    figures = gates.measure(duckdb.connect(), table, gs)
    return figures, gates.judge(gs, figures)


def test_usage_spike_zero_everywhere_fails_naming_feature_date_figure_threshold_and_upstream():
    n = 300
    t = chunk(usage_spike_score=[0.0] * n, games_played_season=[5] * n)
    _, failures = judge(t, ["usage_spike_score"])
    assert [(f.feature, f.rule, f.date) for f in failures] == [("usage_spike_score", "max_zero_share", "2025-12-01")]
    err = gates.GateError(failures, ("2025-12-01", "2025-12-01"), "2025-11-30")
    msg = str(err)
    for needle in ("usage_spike_score", "2025-12-01", "100.0% of 300 non-NULL values are 0", "at most 50%",
                   "nba_analytics.player_game_summary.usage_rate", "nba_analytics.upcoming_player_game_context.avg_usage_rate_last_7_games",
                   "nothing with event times 2025-12-01..2025-12-01 (this chunk) was written online", "feature_repo/catalog.py"):
        assert needle in msg, needle
    assert isinstance(err, gates.UserError)


def test_populated_share_is_judged_over_eligible_rows_only():
    # 100 rows without history (NULL is honest there) and 200 with history, all populated.
    gp = [0] * 100 + [3] * 200
    vals = [None] * 100 + list(np.linspace(0.5, 1.5, 200))
    figures, failures = judge(chunk(avg_usage_rate_last_7_games=vals, games_played_season=gp),
                              ["avg_usage_rate_last_7_games"])
    f = figures["2025-12-01"]["avg_usage_rate_last_7_games"]
    assert (f["rows"], f["eligible"], f["populated"], f["nonnull"]) == (300, 200, 200, 200)
    assert failures == []
    # Now half of the eligible rows lose their value: 50% < 90% fails.
    vals2 = [None] * 100 + [None] * 100 + list(np.linspace(0.5, 1.5, 100))
    _, failures = judge(chunk(avg_usage_rate_last_7_games=vals2, games_played_season=gp),
                        ["avg_usage_rate_last_7_games"])
    assert [(x.feature, x.rule) for x in failures] == [("avg_usage_rate_last_7_games", "min_populated")]
    assert "50.0% populated (100 non-NULL of 200 rows where games_played_season > 0)" in failures[0].detail


def test_small_dates_tolerate_a_few_honest_nulls_but_not_a_missing_feature():
    # A season's third day: 22 eligible rows, 19 populated (86%) passes; 0 populated fails.
    gp = [1] * 22
    _, ok = judge(chunk(usage_spike_score=[1.0] * 19 + [None] * 3, games_played_season=gp), ["usage_spike_score"])
    assert ok == []
    _, bad = judge(chunk(usage_spike_score=[None] * 22, games_played_season=gp), ["usage_spike_score"])
    assert [(x.feature, x.rule) for x in bad] == [("usage_spike_score", "min_populated")]


def test_nan_counts_as_null_and_dates_are_judged_separately():
    vals = [float("nan")] * 50 + [20.0] * 50
    t = chunk(usage_rate=vals, minutes=[30.0] * 100, dates=[D1] * 50 + [D2] * 50)
    figures, failures = judge(t, ["usage_rate"])
    assert figures["2025-12-01"]["usage_rate"]["populated"] == 0
    assert figures["2025-12-02"]["usage_rate"]["populated"] == 50
    assert [(x.date, x.rule) for x in failures] == [("2025-12-01", "min_populated")]


def test_value_range_failure_reports_measured_min_and_max():
    vals = [20.0] * 99 + [450.0]
    _, failures = judge(chunk(usage_rate=vals, minutes=[30.0] * 100), ["usage_rate"])
    assert [(x.rule, x.measured) for x in failures] == [("value_range", 1.0)]
    assert "outside [0, 300]" in failures[0].detail and "max 450" in failures[0].detail


def test_boolean_zero_share_counts_false_and_figures_match_numpy():
    rng = np.random.default_rng(1)
    values = rng.normal(20, 5, 400)
    t = chunk(usage_rate=values, minutes=[30.0] * 400, is_home=[bool(i % 2) for i in range(400)])
    figures, failures = judge(t, ["usage_rate", "is_home"])
    f = figures["2025-12-01"]["usage_rate"]
    assert f["p10"] == pytest.approx(np.quantile(values, 0.1))
    assert f["p50"] == pytest.approx(np.quantile(values, 0.5))
    assert f["mean"] == pytest.approx(values.mean())
    assert figures["2025-12-01"]["is_home"]["zeros"] == 200
    assert failures == []


def test_eligible_when_in_arrow_matches_duckdb():
    t = chunk(games_played_season=[0, 1, 2, None, 5], is_home=[True, False, None, True, False],
              dates=[D1] * 5)
    con = duckdb.connect()
    for cond in ("games_played_season > 0", "games_played_season >= 2 AND NOT is_home",
                 "games_played_season IS NULL OR is_home", "abs(games_played_season - 2) < 2"):
        fast = gates._masks(con, t, [cond])[cond]
        con.register("t", t)
        slow = [bool(v) for (v,) in con.execute(f"SELECT coalesce(({cond}), FALSE) FROM t").fetchall()]
        assert list(fast) == slow, cond


def test_critical_features_are_at_least_as_strict_as_the_issue():
    for name in ("usage_rate", "avg_usage_rate_last_7_games", "usage_spike_score"):
        g = catalog.feature(name).gate
        assert g is not None and g.min_populated >= 0.10 and g.max_zero_share is not None and g.max_zero_share <= 0.90


def test_every_served_batch_feature_has_a_gate_with_conditions_on_its_table():
    for name in catalog.PLAYER_POINTS_V1:
        f = catalog.feature(name)
        if f.view in catalog.ON_DEMAND_VIEWS and f.request_time_view is None:
            continue
        assert f.gate is not None, name
        table = schema.table(f.upstream[0].rsplit(".", 1)[0])
        for col in gates.condition_columns(f.gate.eligible_when):
            assert col in table.column_names, f"{name}: eligible_when reads {col}, not in {table.fqn}"


@pytest.mark.real_data
def test_no_gate_fails_on_any_date_of_the_real_season(real_warehouse):
    """The declared thresholds hold on real data: a backfill of any 2025-26 range is not stopped
    by a false alarm (the season's first small dates included)."""
    from feature_repo.feature_views import FEATURE_VIEWS
    from materialize.preflight import source_table
    from warehouse import storage

    con = duckdb.connect()
    judged = 0
    for view in FEATURE_VIEWS.values():
        fqn = source_table(view.batch_source)
        gs = gates.gates_for(view.name, [f.name for f in view.features])
        table = storage.read_table(schema.table(fqn))
        table = table.append_column(gates.DATE_COLUMN, table.column("game_date"))
        figures = gates.measure(con, table, gs)
        failures = gates.judge(gs, figures)
        assert failures == [], "\n".join(f"{f.feature} {f.date}: {f.detail}" for f in failures[:5])
        judged += len(figures)
    assert judged > 300  # every game date of four views
