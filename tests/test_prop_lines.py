"""nba_analytics.player_prop_lines (transformations/sql/analytics/player_prop_lines.sql) and the
all-markets import behind it.

Protects: per market and snapshot, the consensus line is the median of the books' lines, the
no-vig over probability the mean of p_over / (p_over + p_under) over the books quoting exactly
that line with both prices (NULL when none), books_count the books quoting it; a market nobody
quotes at a snapshot is NULL (never carried over from an earlier one, never 0); yes/no and
stored-only markets are left out. Checked against a pandas recompute on hand-made rows, on the
tiny season and on the real all-markets file. The real file imports every market (per-market
games and players as its README's table), stores yes/no rows with NULL line and prices, is
refused in one run with the points file (nothing written), and re-importing changes nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re

import numpy as np
import pandas as pd
import pytest

from nbafs import paths
from tests import tiny_season
from transformations.steps import STEPS
from warehouse import storage
from warehouse.importers import import_paths
from warehouse.importers.common import ImportError_
from warehouse.markets import MARKETS, POINTS, STORED_ONLY, YES_NO
from warehouse.schema import ODDS_API_PLAYER_POINTS_PROPS, ODDS_API_PLAYER_PROPS, PLAYER_PROP_LINES, SCHEDULE
from warehouse.validate import conform

[STEP] = [s for s in STEPS if s.table is PLAYER_PROP_LINES]
KEYS = ["game_id", "player_lookup", "snapshot_at"]
UTC = dt.timezone.utc
EVERYTHING = (dt.date(2000, 1, 1), dt.date(2100, 1, 1))


# --- the oracle ---------------------------------------------------------------------------

def implied(american: pd.Series) -> pd.Series:
    a = american.astype(float)
    return pd.Series(np.where(a < 0, -a / (-a + 100), 100 / (a + 100)), index=a.index).where(a.notna())


def expected_prop_lines(points: pd.DataFrame, props: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """player_prop_lines recomputed in pandas from the two raw frames."""
    by_key = {m.odds_api_key: m.name for m in MARKETS}
    books = pd.concat([
        points.rename(columns={"points_line": "line"}).assign(market=POINTS.name),
        props.assign(market=props["market"].map(by_key)).dropna(subset=["market", "line"]),
    ], ignore_index=True)
    books = books[(pd.to_datetime(books["game_date"]).dt.date >= start) & (pd.to_datetime(books["game_date"]).dt.date <= end)]
    books = books.assign(snapshot_at=pd.to_datetime(books["snapshot_at"], utc=True),
                         created_at=pd.to_datetime(books["created_at"], utc=True))
    out = books.groupby(KEYS).agg(game_date=("game_date", "first"), created_at=("created_at", "max"))
    for m in MARKETS:
        rows = books[books["market"] == m.name]
        grouped = rows.groupby(KEYS)
        median = grouped["line"].median().rename(m.line_feature)
        at = rows.join(median, on=KEYS)
        exact = at[(at["line"] == at[m.line_feature]) & at["over_price"].notna() & at["under_price"].notna()]
        p_over, p_under = implied(exact["over_price"]), implied(exact["under_price"])
        prob = (p_over / (p_over + p_under)).groupby([exact[k] for k in KEYS]).mean().rename(m.over_prob_feature)
        count = grouped["bookmaker"].nunique().rename(f"{m.name}_books_count")
        out = out.join(median).join(prob).join(count)
    out = out.reset_index()
    out["event_timestamp"] = out["snapshot_at"]
    return out


def computed(start: dt.date, end: dt.date) -> pd.DataFrame:
    """The SQL step on the current warehouse (DuckDB), checked against the declaration."""
    got = storage.connect().execute(STEP.duckdb_sql(start, end)).df()
    assert list(got.columns) == PLAYER_PROP_LINES.column_names
    return conform(PLAYER_PROP_LINES, got, source=STEP.display_path).to_pandas()


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    got = got.assign(snapshot_at=pd.to_datetime(got["snapshot_at"], utc=True))
    m = got.merge(expected, on=KEYS, how="outer", suffixes=("", "_x"), indicator=True)
    assert (m["_merge"] == "both").all(), m[m["_merge"] != "both"][KEYS + ["_merge"]].head()
    for col in PLAYER_PROP_LINES.column_names:
        if col in KEYS:
            continue
        a, b = m[col], m[f"{col}_x"]
        assert (a.isna() == b.isna()).all(), f"{col}: NULL where the recompute is not (or the reverse)"
        if col.endswith("_line"):
            np.testing.assert_allclose(a[a.notna()].astype(float), b[b.notna()].astype(float), rtol=1e-12, err_msg=col)
        elif col.endswith("_no_vig"):  # the SQL sums the books' shares in units of 1e-12
            np.testing.assert_allclose(a[a.notna()].astype(float), b[b.notna()].astype(float), rtol=0, atol=1e-12,
                                       err_msg=col)
        elif col.endswith("_books_count"):
            assert (a[a.notna()].astype(int) == b[b.notna()].astype(int)).all(), col
        elif col == "game_date":
            assert (pd.to_datetime(a) == pd.to_datetime(b)).all(), col
        else:  # event_timestamp, created_at
            assert (pd.to_datetime(a, utc=True) == pd.to_datetime(b, utc=True)).all(), col
    return m


# --- hand-made rows -----------------------------------------------------------------------

S1 = dt.datetime(2025, 11, 1, 15, tzinfo=UTC)
S2 = dt.datetime(2025, 11, 1, 19, tzinfo=UTC)
DAY, OTHER_DAY = dt.date(2025, 11, 1), dt.date(2025, 11, 5)


def _row(player, book, line, over, under, snap, market=None, game="0022500001", day=DAY, minutes=1):
    row = dict(game_id=game, game_date=day, player_lookup=player, player_name=player, bookmaker=book,
               over_price=over, under_price=under, snapshot_at=snap, created_at=snap + dt.timedelta(minutes=minutes))
    if market is None:
        return dict(row, points_line=line)
    return dict(row, market=market, line=line)


def hand_made() -> tuple[pd.DataFrame, pd.DataFrame]:
    points = pd.DataFrame([
        # odd count: median is the middle line; two books quote it, one without an under price
        _row("ann", "draftkings", 20.5, -120, 100, S1),
        _row("ann", "fanduel", 20.5, 110, -130, S1, minutes=9),
        _row("ann", "betmgm", 20.5, -110, None, S1),
        _row("ann", "bovada", 22.5, -110, -110, S1),
        _row("ann", "caesars", 19.5, -110, -110, S1),
        # the later snapshot: only one book left (the others are not carried over)
        _row("ann", "draftkings", 21.5, -105, -115, S2),
        # even count: the median 11.0 is nobody's line, so no no-vig probability
        _row("bob", "draftkings", 10.5, -110, -110, S1),
        _row("bob", "fanduel", 11.5, -110, -110, S1),
        # a game outside the range asked
        _row("ann", "draftkings", 30.5, -110, -110, S1, game="0022500009", day=OTHER_DAY),
    ])
    props = pd.DataFrame([
        _row("ann", "draftkings", 7.5, -140, 120, S1, market="player_rebounds", minutes=20),
        _row("ann", "fanduel", 8.5, -110, -110, S1, market="player_rebounds"),
        _row("ann", "betmgm", 7.5, 100, -120, S1, market="player_rebounds"),
        # the only book at the consensus line lacks a price: NULL probability, line and count kept
        _row("ann", "draftkings", 2.5, None, -120, S2, market="player_threes"),
        _row("ann", "draftkings", 35.5, -110, -110, S2, market="player_points_rebounds_assists"),
        # never in the consensus: a yes/no row and a stored-only market
        _row("ann", "draftkings", None, None, None, S2, market="player_double_double", minutes=50),
        _row("ann", "draftkings", 1.5, -110, -110, S1, market="player_blocks", minutes=50),
        # a player with only those: no consensus row
        _row("cat", "draftkings", None, None, None, S1, market="player_triple_double"),
        _row("cat", "fanduel", 0.5, 120, -150, S1, market="player_steals"),
        # assists only: a row with points NULL
        _row("dan", "fanduel", 4.5, 105, -125, S2, market="player_assists"),
    ])
    return points, props


@pytest.fixture
def hand_made_lines(data_dir):
    points, props = hand_made()
    for table, df in ((ODDS_API_PLAYER_POINTS_PROPS, points), (ODDS_API_PLAYER_PROPS, props)):
        storage.write_partitions(table, conform(table, df, source="tests/test_prop_lines.py"))
    return points, props


def test_consensus_and_no_vig_probability_match_the_recompute_on_hand_made_rows(hand_made_lines):
    points, props = hand_made_lines
    got = computed(DAY, DAY)
    assert_same(got, expected_prop_lines(points, props, DAY, DAY))
    rows = got.set_index(["player_lookup", pd.to_datetime(got["snapshot_at"], utc=True)])
    assert sorted(rows.index.get_level_values(0)) == ["ann", "ann", "bob", "dan"]  # cat: yes/no and stored-only
    ann1, ann2 = rows.loc[("ann", pd.Timestamp(S1))], rows.loc[("ann", pd.Timestamp(S2))]
    # the median of 19.5, 20.5 x3, 22.5; draftkings (-120/+100) and fanduel (+110/-130) at it, betmgm lacks a price
    p = [(120 / 220) / (120 / 220 + 100 / 200), (100 / 210) / (100 / 210 + 130 / 230)]
    assert ann1.points_line == 20.5 and ann1.points_books_count == 5
    assert ann1.points_over_prob_no_vig == pytest.approx(np.mean(p), abs=1e-12)
    assert ann1.rebounds_line == 7.5 and ann1.rebounds_books_count == 3
    # the later snapshot: draftkings' own line only; rebounds not quoted then, so NULL (not carried over)
    assert ann2.points_line == 21.5 and ann2.points_books_count == 1
    assert pd.isna(ann2.rebounds_line) and pd.isna(ann2.rebounds_books_count) and pd.isna(ann2.rebounds_over_prob_no_vig)
    assert ann2.threes_line == 2.5 and ann2.threes_books_count == 1 and pd.isna(ann2.threes_over_prob_no_vig)
    assert ann2.pra_line == 35.5 and ann2.pra_over_prob_no_vig == pytest.approx(0.5)
    assert ann2.created_at == S2 + dt.timedelta(minutes=1)  # the yes/no row (minute 50) is not used
    assert ann1.created_at == S1 + dt.timedelta(minutes=20)
    bob = rows.loc[("bob", pd.Timestamp(S1))]
    assert bob.points_line == 11.0 and pd.isna(bob.points_over_prob_no_vig)
    dan = rows.loc[("dan", pd.Timestamp(S2))]
    assert pd.isna(dan.points_line) and dan.assists_line == 4.5 and dan.assists_books_count == 1
    assert (got["event_timestamp"] == got["snapshot_at"]).all()


def test_the_sql_reads_exactly_the_modelled_markets_odds_api_keys():
    sql = STEP.sql
    keys = set(re.findall(r"'(player_[a-z_]+)'", sql))
    assert keys == {m.odds_api_key for m in MARKETS if m is not POINTS}
    assert not keys & set(STORED_ONLY) and not keys & set(YES_NO)
    assert {f"'{m.name}'" for m in MARKETS} <= set(re.findall(r"'[a-z]+'", sql))


# --- the tiny season ----------------------------------------------------------------------

def test_tiny_season_other_markets_match_the_recompute(data_dir):
    frames = tiny_season.generate(seed=7)
    points, props = frames[ODDS_API_PLAYER_POINTS_PROPS.fqn], frames[ODDS_API_PLAYER_PROPS.fqn]
    schedule = frames[SCHEDULE.fqn]
    start, end = min(schedule["game_date"]), max(schedule["game_date"])
    got = computed(start, end)
    m = assert_same(got, expected_prop_lines(points, props, start, end))
    # the season exercises: a row without points, NULL probability at an even median, one and two books
    assert (m["points_line"].isna() & m["rebounds_line"].notna()).any()
    assert (m["rebounds_line"].notna() & m["rebounds_over_prob_no_vig"].isna()).any()
    assert {1, 2} <= set(m["rebounds_books_count"].dropna().astype(int))
    assert m["threes_over_prob_no_vig"].notna().any() and m["assists_line"].isna().all()


# --- the real all-markets file ------------------------------------------------------------

README_MARKETS = {  # ../shared/data/README.md, "All prop markets": rows, games, players
    "player_points": (65_548, 347, 344),
    "player_points_rebounds_assists": (47_116, 347, 340),
    "player_rebounds": (37_281, 347, 336),
    "player_threes": (30_416, 347, 309),
    "player_assists": (27_747, 347, 333),
    "player_double_double": (17_841, 347, 276),
    "player_blocks": (4_983, 347, 258),
    "player_triple_double": (3_358, 340, 76),
    "player_steals": (2_961, 343, 164),
}


@pytest.fixture(scope="module")
def all_markets(real_data, tmp_path_factory):
    """The real team logs and the all-markets file (not the points file) imported once."""
    props_file = real_data.parent / "nba_2025_26_props" / "oddsapi_player_props_all_markets.csv.gz"
    if not props_file.exists():
        pytest.skip(f"the all-markets file is not at {props_file}")
    with pytest.MonkeyPatch.context() as mp:
        store = tmp_path_factory.mktemp("all-markets") / "data"
        mp.setenv(paths.DATA_DIR_ENV, str(store))
        report = import_paths([real_data / "nbacom_team_game_logs.csv", props_file], progress=None)
        yield store, report, props_file


@pytest.fixture
def real_store(all_markets, monkeypatch):
    store, report, props_file = all_markets
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(store))
    return report, props_file


def _query(sql: str) -> pd.DataFrame:
    return storage.connect().execute(sql).df()


def _hashes() -> dict[str, str]:
    root = paths.warehouse_dir()
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.parquet"))}


@pytest.mark.real_data
def test_every_market_of_the_real_file_is_kept_with_its_games_and_players(real_store):
    report, _ = real_store
    points = _query("select game_id, player_lookup, 'player_points' market, points_line line, over_price, under_price "
                    "from nba_raw.odds_api_player_points_props")
    props = _query("select game_id, player_lookup, market, line, over_price, under_price from nba_raw.odds_api_player_props")
    assert "player_points" not in set(props["market"])
    rows = pd.concat([points, props])
    per_market = rows.groupby("market").agg(rows=("line", "size"), games=("game_id", "nunique"),
                                            players=("player_lookup", "nunique"))
    assert set(per_market.index) == set(README_MARKETS)
    for market, (read, games, players) in README_MARKETS.items():
        got = per_market.loc[market]
        assert (got.games, got.players) == (games, players), market
        assert got.rows <= read and report.file("odds_api_player_points").figures[f"rows_{market}"] == got.rows
    # alternate lines reduced to each book's main line; yes/no markets have one row per book already
    assert per_market.loc["player_points", "rows"] == 35_340  # as when the points file is imported
    for market in YES_NO:
        assert per_market.loc[market, "rows"] == README_MARKETS[market][0]
        yes_no = props[props["market"] == market]
        assert yes_no[["line", "over_price", "under_price"]].isna().all().all()
    assert props.loc[~props["market"].isin(YES_NO), "line"].notna().all()
    dropped = report.file("odds_api_player_points").dropped
    assert set(dropped) == {"alternate lines (kept each book's main line)"}


@pytest.mark.real_data
def test_real_consensus_matches_the_recompute(real_store):
    points = _query("select * from nba_raw.odds_api_player_points_props")
    props = _query("select * from nba_raw.odds_api_player_props")
    got = computed(*EVERYTHING)
    assert_same(got, expected_prop_lines(points, props, *EVERYTHING))
    assert got[[f"{m.name}_line" for m in MARKETS]].notna().mean().min() > 0.85


@pytest.mark.real_data
def test_the_points_file_and_the_all_markets_file_in_one_run_are_refused(real_store, real_data):
    _, props_file = real_store
    before = _hashes()
    points_file = real_data / "oddsapi_player_points_props.csv.gz"
    with pytest.raises(ImportError_) as exc:
        import_paths([points_file, props_file], progress=None)
    message = str(exc.value)
    assert str(points_file) in message and str(props_file) in message
    assert "nba_raw.odds_api_player_points_props" in message and "import one of the two" in message
    assert "35,340 rows" in message and "nothing was written" in message
    assert _hashes() == before


@pytest.mark.real_data
def test_reimporting_either_file_changes_nothing(real_store, real_data):
    _, props_file = real_store
    before = _hashes()
    import_paths([props_file], progress=None)
    assert _hashes() == before
    # the points file holds the same points rows; it leaves the other markets of its snapshots alone
    import_paths([real_data / "oddsapi_player_points_props.csv.gz"], progress=None)
    assert _hashes() == before
