"""The bettor's evaluation (model/betting.py) and the offers it prices bets at (model/outcomes.bet_offers).

What is protected: flat-stake ROI, hit rate and break-even on a frame with known answers
(a push gives the stake back and still counts as staked); the bootstrap resamples game
dates, is deterministic for its seed and brackets the point estimate; Brier scores and
reliability bins; the verdict says the books win when they do and never claims an edge
its interval does not show; the bet offer is the last snapshot before tip-off, priced
only by the books quoting exactly its consensus line in that snapshot, rows joined by
their keys, never by position.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from model import betting, outcomes
from warehouse import engine, storage
from warehouse.markets import MARKETS, REBOUNDS
from warehouse.schema import ODDS_API_PLAYER_POINTS_PROPS, ODDS_API_PLAYER_PROPS, PLAYER_PROP_LINES, SCHEDULE
from warehouse.validate import conform

UTC = dt.timezone.utc
D = betting.decimal_odds


def _row(day, p_over, line, actual, over=-110, under=-110, best_over=None, best_under=None, market=0.5):
    return dict(game_date=dt.date(2025, 11, day), p_over=p_over, bet_line=line, actual=actual, market_over_prob=market,
                consensus_over_price=float(D(over)), consensus_under_price=float(D(under)),
                best_over_price=float(D(best_over if best_over is not None else over)),
                best_under_price=float(D(best_under if best_under is not None else under)))


def known_frame() -> pd.DataFrame:
    """2 wins on the over at +150 (best +160), 2 losses on the under at -110 (best -105), 1 push, 3 no-bets."""
    return pd.DataFrame([
        _row(1, 0.70, 20.5, 25, over=150, best_over=160),
        _row(2, 0.65, 10.5, 11, over=150, best_over=160),
        _row(1, 0.30, 20.5, 22, under=-110, best_under=-105),
        _row(3, 0.20, 5.5, 9, under=-110, best_under=-105),
        _row(3, 0.60, 20.0, 20),  # push: stake back
        _row(2, 0.50, 20.5, 30),  # exactly 0.5: no bet
        _row(2, 0.90, np.nan, 30),  # no line: no bet
        {**_row(2, 0.90, 7.5, 9), "consensus_over_price": np.nan, "best_over_price": np.nan},  # no price for the side
    ], index=[10, 11, 12, 13, 14, 15, 16, 17])


def test_roi_hit_rate_and_break_even_on_known_bets():
    r = betting.evaluate_bets(known_frame(), "points")
    assert (r["bets"], r["wins"], r["losses"], r["pushes"]) == (5, 2, 2, 1)
    assert (r["over_bets"], r["under_bets"]) == (3, 2)
    assert r["hit_rate"] == pytest.approx(0.5)
    # Break-even: the mean implied probability of the prices taken on the decided bets.
    assert r["break_even"] == pytest.approx((2 / 2.5 + 2 * 110 / 210) / 4)
    assert r["break_even_best"] == pytest.approx((2 / 2.6 + 2 * 105 / 205) / 4)
    # Profit: 2 x 1.5 - 2 x 1 + 0 over 5 units staked; at the best price 2 x 1.6 - 2.
    assert r["roi"]["consensus"]["roi"] == pytest.approx(1.0 / 5)
    assert r["roi"]["consensus"]["profit"] == pytest.approx(1.0)
    assert r["roi"]["best"]["roi"] == pytest.approx(1.2 / 5)
    placed = betting.bets(known_frame())
    assert list(placed.index) == [10, 11, 12, 13, 14]
    assert list(placed["outcome"]) == ["win", "win", "loss", "loss", "push"]


def _random_frame(n=600, days=30, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    line = rng.integers(5, 30, n) + 0.5
    return pd.DataFrame({
        "game_date": [dt.date(2025, 11, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, days, n)],
        "p_over": rng.uniform(0.2, 0.8, n), "bet_line": line, "actual": line + rng.normal(0, 5, n).round(),
        "market_over_prob": rng.uniform(0.4, 0.6, n),
        "consensus_over_price": D(-110), "consensus_under_price": D(-110),
        "best_over_price": D(-105), "best_under_price": D(100),
    })


def test_bootstrap_interval_brackets_the_estimate_and_is_deterministic():
    frame = _random_frame()
    placed = betting.bets(frame)
    a = betting.roi_interval(placed, "profit_consensus")
    b = betting.roi_interval(placed, "profit_consensus")
    assert a == b
    assert a["ci_low"] < a["roi"] < a["ci_high"]
    assert betting.roi_interval(placed, "profit_consensus", seed=5) != a


def test_bootstrap_resamples_game_dates_not_bets():
    """All bets on one date: every resample draws that date, so the interval is the estimate itself."""
    frame = known_frame().assign(game_date=dt.date(2025, 11, 1))
    r = betting.roi_interval(betting.bets(frame), "profit_consensus")
    assert r["ci_low"] == pytest.approx(r["roi"]) and r["ci_high"] == pytest.approx(r["roi"])


def test_brier_of_a_perfect_and_a_coin_flip_forecaster():
    happened = np.array([1, 0, 1, 1, 0], dtype=float)
    assert betting.brier(happened, happened) == 0
    assert betting.brier(np.full(5, 0.5), happened) == pytest.approx(0.25)
    assert betting.brier(np.array([]), np.array([])) is None


def test_reliability_bins_sum_to_the_rows_and_hold_their_means():
    rng = np.random.default_rng(2)
    p = np.concatenate([rng.uniform(0, 1, 500), [0.0, 1.0]])
    y = (rng.uniform(0, 1, len(p)) < p).astype(float)
    bins = betting.reliability(p, y)
    assert len(bins) == betting.BINS and sum(b["count"] for b in bins) == len(p)
    for b in bins:
        inside = (p >= b["lo"]) & ((p < b["hi"]) | (b["hi"] == 1.0))
        assert b["count"] == inside.sum()
        assert b["mean_predicted"] == pytest.approx(p[inside].mean())
        assert b["observed_rate"] == pytest.approx(y[inside].mean())


def test_calibration_uses_the_same_rows_for_model_and_market_and_skips_pushes():
    r = betting.evaluate_bets(known_frame(), "points")
    cal = r["calibration"]
    # Rows with a line, an outcome and both probabilities, minus the push: 6 (the 0.5 row and the
    # row without a price count: calibration is about the probabilities, not the bets).
    assert cal["rows"] == 6
    for who in ("model", "market"):
        assert sum(b["count"] for b in cal["reliability"][who]) == 6
    assert cal["brier_market"] == pytest.approx(0.25)


def _books_win_frame() -> pd.DataFrame:
    """The market's probability is the truth; the model's is noise around it: the books win."""
    rng = np.random.default_rng(3)
    n = 800
    truth = rng.uniform(0.3, 0.7, n)
    over = rng.uniform(0, 1, n) < truth
    return pd.DataFrame({
        "game_date": [dt.date(2025, 11, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 40, n)],
        "p_over": np.clip(truth + rng.normal(0, 0.25, n), 0.01, 0.99), "market_over_prob": truth,
        "bet_line": 10.5, "actual": np.where(over, 12.0, 9.0),
        "consensus_over_price": D(-110), "consensus_under_price": D(-110),
        "best_over_price": D(-105), "best_under_price": D(-105),
    })


def test_verdict_says_the_books_win_when_they_do():
    r = betting.evaluate_bets(_books_win_frame(), "rebounds")
    assert r["calibration"]["brier_market"] < r["calibration"]["brier_model"]
    assert r["verdict"].startswith("The books win on rebounds: market Brier ")
    assert "edge" not in r["verdict"].replace("no evidence of an edge", "")
    ci = r["roi"]["consensus"]
    assert ("includes 0" in r["verdict"]) == (ci["ci_low"] <= 0 <= ci["ci_high"])


def test_verdict_never_prints_equal_briers_with_a_strict_sign():
    r = betting.evaluate_bets(known_frame(), "points")
    r["calibration"].update(brier_market=0.24596, brier_model=0.24595)
    assert "market Brier 0.24596 > model 0.24595" in betting.verdict(r)


def test_verdict_without_bets_says_there_is_nothing_to_judge():
    frame = known_frame().assign(bet_line=np.nan)
    r = betting.evaluate_bets(frame, "assists")
    assert r["bets"] == 0 and r["roi"]["consensus"]["roi"] is None
    assert r["verdict"].startswith("No bets on assists")


def test_a_frame_without_the_offer_columns_is_refused_by_name():
    with pytest.raises(ValueError, match="best_under_price.*bet_offers"):
        betting.evaluate_bets(known_frame().drop(columns=["best_under_price"]), "points")


def test_summary_row_and_markdown_table_take_the_trainers_extra_columns():
    r = betting.evaluate_bets(known_frame(), "points")
    row = betting.summary_row(r)
    assert row["rows"] == 8 and row["roi_consensus"] == pytest.approx(0.2)
    table = betting.markdown_table({"points": {**row, "model_mae": 4.123, "season_avg_mae": 4.5},
                                    "rebounds": betting.evaluate_bets(_books_win_frame(), "rebounds")})
    lines = table.strip().splitlines()
    assert lines[0].split(" | ")[:4] == ["| market", "rows", "model_mae", "season_avg_mae"]
    assert "| points | 8 | 4.123 | 4.500 | 5 | 50.0% |" in lines[2]
    assert "+20.0% [" in lines[2] and lines[3].startswith("| rebounds | 800 | — | — |")


# --- bet_offers on a warehouse ---------------------------------------------------------------

T0 = dt.datetime(2025, 11, 3, tzinfo=UTC)
DAY = T0.date()


def _at(hour, minute=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hour, minute), UTC)


def _write(table, rows: list[dict]) -> None:
    """Through the active profile's engine: DuckDB files locally, BigQuery (the emulator) in prod."""
    df = pd.DataFrame(rows)
    for c in table.column_names:
        if c not in df:
            df[c] = np.nan
    wh = engine.current()
    wh.ensure_tables([table])
    wh.write_partitions(table, conform(table, df, source="tests/test_betting.py"))


def _lines_row(game, player, snap, **markets):
    row = dict(game_id=game, game_date=DAY, player_lookup=player, snapshot_at=snap, event_timestamp=snap, created_at=snap)
    for m in MARKETS:
        line, prob = markets.get(m.name, (None, None))
        row.update({m.line_feature: line, m.over_prob_feature: prob, f"{m.name}_books_count": 1 if line else None})
    return row


def _book(game, player, book, line, over, under, snap, market=None):
    row = dict(game_id=game, game_date=DAY, player_lookup=player, player_name=player, bookmaker=book,
               over_price=over, under_price=under, snapshot_at=snap, created_at=snap)
    return {**row, "points_line": line} if market is None else {**row, "line": line, "market": market}


@pytest.fixture(params=["local", pytest.param("prod", marks=pytest.mark.prod)])
def offers_warehouse(request, data_dir):
    """Two games; g1 tips off at 23:30, g2's tip-off is unknown (cut-off 06:00 UTC the next day).

    On both engines: the offers' SQL is BigQuery's, run as written in prod and transpiled locally."""
    if request.param == "prod":
        request.getfixturevalue("prod_env")
    _write(SCHEDULE, [
        dict(game_id="g1", game_date=DAY, season="2025-26", home_team_abbr="AAA", away_team_abbr="BBB",
             tipoff_at=_at(23, 30), created_at=T0),
        dict(game_id="g2", game_date=DAY, season="2025-26", home_team_abbr="CCC", away_team_abbr="DDD",
             tipoff_at=None, created_at=T0),
    ])
    _write(PLAYER_PROP_LINES, [
        _lines_row("g1", "ann", _at(15), points=(19.5, 0.55), rebounds=(7.5, 0.5)),
        _lines_row("g1", "ann", _at(19), points=(20.5, 0.48), rebounds=(8.0, 0.52)),
        _lines_row("g1", "ann", _at(23, 45), points=(22.5, 0.5)),  # after tip-off: never the bet
        _lines_row("g1", "bob", _at(19), rebounds=(4.5, 0.6)),  # no points line at all
        _lines_row("g2", "cat", _at(17), points=(10.5, 0.51)),
        _lines_row("g2", "cat", _at(23, 50), points=(11.5, 0.49)),  # before 06:00 next day: the bet
    ])
    _write(ODDS_API_PLAYER_POINTS_PROPS, [
        _book("g1", "ann", "dk", 19.5, -110, -110, _at(15)),  # earlier snapshot: not at the bet
        _book("g1", "ann", "dk", 20.5, -110, -110, _at(19)),
        _book("g1", "ann", "fd", 20.5, 105, -125, _at(19)),
        _book("g1", "ann", "mgm", 20.5, -120, None, _at(19)),  # no under price: not in the under's prices
        _book("g1", "ann", "czr", 21.5, 200, -300, _at(19)),  # another line: not this bet's book
        _book("g1", "ann", "dk", 22.5, 300, -400, _at(23, 45)),
        _book("g2", "cat", "dk", 11.5, -115, -105, _at(23, 50)),
    ])
    _write(ODDS_API_PLAYER_PROPS, [
        _book("g1", "ann", "dk", 8.0, 120, -140, _at(19), "player_rebounds"),
        _book("g1", "ann", "fd", 8.0, 110, -130, _at(19), "player_rebounds"),
        _book("g1", "ann", "dk", 8.0, -500, 350, _at(19), "player_assists"),  # same line, other market
        _book("g1", "bob", "dk", 4.0, -110, -110, _at(19), "player_rebounds"),  # consensus 4.5 quoted by nobody
    ])


def test_bet_offers_take_the_last_pre_tip_snapshot_and_only_the_lines_books(offers_warehouse):
    rows = pd.DataFrame({"player_lookup": ["cat", "bob", "ann", "ann", "zed"],
                         "game_id": ["g2", "g1", "g1", "g1", "g1"]}, index=[7, 3, 9, 1, 4])
    got = outcomes.bet_offers(rows, "points")
    assert list(got.index) == [7, 3, 9, 1, 4] and list(got.columns) == outcomes.OFFER_COLUMNS
    ann = got.loc[9]
    assert ann["bet_snapshot_at"] == pd.Timestamp(_at(19)) and ann["bet_line"] == 20.5
    assert ann["market_over_prob"] == pytest.approx(0.48) and ann["books_at_line"] == 3
    assert ann["consensus_over_price"] == pytest.approx(np.median(D([-110, 105, -120])))
    assert ann["best_over_price"] == pytest.approx(2.05)
    assert ann["consensus_under_price"] == pytest.approx(np.median(D([-110, -125])))
    assert ann["best_under_price"] == pytest.approx(float(D(-110)))
    assert got.loc[1].equals(ann.rename(1))  # the same player-game twice: the same offer
    cat = got.loc[7]  # no tip-off time: the 23:50 snapshot is still before 06:00 UTC the next day
    assert cat["bet_snapshot_at"] == pd.Timestamp(_at(23, 50)) and cat["bet_line"] == 11.5
    assert cat["best_over_price"] == pytest.approx(float(D(-115))) and cat["books_at_line"] == 1
    for i in (3, 4):  # no points line for bob, no such player-game for zed
        assert got.loc[i].drop("bet_snapshot_at").isna().all() and pd.isna(got.loc[i, "bet_snapshot_at"])


def test_bet_offers_of_another_market_read_its_own_book_rows(offers_warehouse):
    rows = pd.DataFrame({"player_lookup": ["ann", "bob"], "game_id": ["g1", "g1"],
                         "game_date": [DAY, DAY]})
    got = outcomes.bet_offers(rows, REBOUNDS)
    ann, bob = got.iloc[0], got.iloc[1]
    assert ann["bet_line"] == 8.0 and ann["market_over_prob"] == pytest.approx(0.52) and ann["books_at_line"] == 2
    assert ann["consensus_over_price"] == pytest.approx((2.2 + 2.1) / 2) and ann["best_over_price"] == pytest.approx(2.2)
    assert ann["best_under_price"] == pytest.approx(float(D(-130)))  # the assists book is not a rebounds book
    # The consensus line no book quotes: a line, a market probability, but no price to bet at.
    assert bob["bet_line"] == 4.5 and bob["market_over_prob"] == pytest.approx(0.6)
    assert np.isnan(bob["books_at_line"]) and np.isnan(bob["consensus_over_price"])


def test_offer_prices_median_of_decimal_odds_not_of_american():
    """-105 and +105: the American median would be 0 (no price); the decimal median is a fair 2.0."""
    rows = pd.DataFrame({"game_id": "g", "player_lookup": "p", "bet_snapshot_at": _at(19), "bet_line": 5.5,
                         "market_over_prob": 0.5, "bookmaker": ["a", "b"], "over_price": [-105.0, 105.0],
                         "under_price": [-115.0, -105.0]})
    got = outcomes.offer_prices(rows).iloc[0]
    assert got["consensus_over_price"] == pytest.approx((1 + 100 / 105 + 2.05) / 2)
    assert got["best_over_price"] == pytest.approx(2.05) and got["books_at_line"] == 2


def test_reliability_chart_writes_a_png_for_several_markets(tmp_path):
    from model import charts

    out = charts.reliability_chart({"points": known_frame(), "rebounds": _books_win_frame()}, tmp_path / "r.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bet_offers_on_the_tiny_season_match_a_brute_force_over_the_book_rows(data_dir):
    """player_prop_lines built by its SQL from the tiny season's book rows (prices varied, a
    third book kept in the later snapshot so that its median line is quoted); the offer of
    every player-game recomputed from the raw rows alone."""
    from tests import tiny_season
    from transformations.steps import STEPS

    frames = tiny_season.build(seed=5)
    rng = np.random.default_rng(5)
    odds = frames[ODDS_API_PLAYER_POINTS_PROPS.fqn]
    later = odds[odds.snapshot_at.dt.hour == 19]
    extra = later[later.bookmaker == "fanduel"].assign(bookmaker="betmgm", points_line=lambda d: d.points_line + 1.0)
    odds = pd.concat([odds, extra[extra.index % 2 == 0]], ignore_index=True)
    odds["over_price"] = rng.choice([-130.0, -115.0, -110.0, 100.0, 120.0], len(odds))
    odds["under_price"] = rng.choice([-125.0, -110.0, -105.0, 110.0], len(odds))
    frames[ODDS_API_PLAYER_POINTS_PROPS.fqn] = odds
    tiny_season.write(frames)
    step = next(s for s in STEPS if s.table is PLAYER_PROP_LINES)
    days = frames[SCHEDULE.fqn].game_date
    con = storage.connect()
    try:
        lines = con.sql(step.duckdb_sql(days.min(), days.max())).to_arrow_table().to_pandas()
    finally:
        con.close()
    storage.write_partitions(PLAYER_PROP_LINES, conform(PLAYER_PROP_LINES, lines, source=step.display_path))

    rows = odds[["player_lookup", "game_id", "game_date"]].drop_duplicates().sample(frac=1, random_state=1)
    got = outcomes.bet_offers(rows, "points")
    tipoff = frames[SCHEDULE.fqn].set_index("game_id").tipoff_at
    priced = 0
    for (player, game), want in zip(rows[["player_lookup", "game_id"]].itertuples(index=False), got.itertuples()):
        books = odds[(odds.player_lookup == player) & (odds.game_id == game) & (odds.snapshot_at <= tipoff[game])]
        snap = books.snapshot_at.max()
        at = books[books.snapshot_at == snap]
        line = at.points_line.median()
        quoting = at[at.points_line == line]
        assert want.bet_snapshot_at == snap and want.bet_line == pytest.approx(line)
        if quoting.empty:
            assert np.isnan(want.books_at_line) and np.isnan(want.best_over_price)
            continue
        priced += 1
        assert want.books_at_line == len(quoting)
        assert want.consensus_over_price == pytest.approx(np.median(D(quoting.over_price)))
        assert want.best_under_price == pytest.approx(D(quoting.under_price).max())
    assert 0 < priced < len(rows)  # both kinds occur: a quoted consensus line and an unquoted one
