"""`nbafs demo` (what `make demo` runs) on a small generated league: exits 0, prints the
summary, writes the charts, runs again in the same directory, and refuses to wipe a
data directory it did not make."""
from __future__ import annotations

import pytest

from nbafs import cli, demo
from nbafs.errors import UserError

SMALL = ["demo", "--teams", "6", "--games-per-team", "20", "--seed", "5"]


def test_demo_runs_end_to_end_and_again(data_dir, capsys, monkeypatch):
    monkeypatch.setenv("NBAFS_PROGRESS", "plain")
    assert cli.main(SMALL) == 0
    out = capsys.readouterr().out
    for text in ("Steps", "MAE per market", "season avg", "last 5", "Against the books", "break-even",
                 "Brier", "Effect of the availability features", "slate, every market", "Largest edges",
                 "Skew check", "0 mismatches", "Charts"):
        assert text in out, text
    for market in ("points", "rebounds", "assists", "threes", "pra"):
        assert (data_dir / "models" / f"player_{market}_v1" / "model.joblib").exists(), market
        assert (data_dir / "models" / f"player_{market}_v1_without_availability" / "model.joblib").exists(), market
    for name in ("predicted_vs_actual.png", "feature_importance.png", "usage_spike_score.png", "reliability.png"):
        png = data_dir / "reports" / name
        assert png.exists() and png.stat().st_size > 10_000, name

    # Re-runnable: the same command in the same directory rebuilds the store and succeeds.
    assert cli.main(SMALL + ["--json", "--no-effect"]) == 0
    assert not (data_dir / "models" / "player_points_v1_without_availability").exists()


def test_demo_refuses_a_store_it_did_not_make(data_dir):
    (data_dir / "warehouse").mkdir()
    (data_dir / "registry.db").write_text("someone's registry")
    with pytest.raises(UserError, match="--reset"):
        demo.prepare_data_dir(reset=False)
    assert (data_dir / "registry.db").exists(), "nothing may be deleted when refusing"
    demo.prepare_data_dir(reset=True)
    assert not (data_dir / "registry.db").exists() and not (data_dir / "warehouse").exists()
    assert (data_dir / demo.MARKER).exists()
    (data_dir / "warehouse").mkdir()
    demo.prepare_data_dir(reset=False)  # its own directory now: cleared without asking
    assert not (data_dir / "warehouse").exists()


def test_predict_date_must_be_a_game_date_with_history():
    import datetime as dt

    dates = [dt.date(2025, 10, 21) + dt.timedelta(days=2 * i) for i in range(40)]
    assert demo.choose_predict_date(dates, None) == dates[30]
    with pytest.raises(UserError, match="nearest game date"):
        demo.choose_predict_date(dates, dt.date(2025, 10, 22))
    with pytest.raises(UserError, match="earlier game dates"):
        demo.choose_predict_date(dates, dates[3])


def test_prod_demo_refuses_real_gcp_without_reset(data_dir, monkeypatch):
    """The demo writes a sample season into the warehouse: never into a real project by accident."""
    monkeypatch.setenv("NBAFS_PROFILE", "prod")
    monkeypatch.setenv("NBAFS_GCP_PROJECT", "someones-production")
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1")
    with pytest.raises(UserError, match="someones-production.*BIGQUERY_EMULATOR_HOST is unset.*--reset"):
        demo.prepare_data_dir(reset=False)
    assert not (data_dir / demo.MARKER).exists(), "refused before touching anything"
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", "http://127.0.0.1:1")
    demo.check_production_target(reset=False)  # the stand-ins: allowed
