"""nba_analytics.player_season_prior (transformations/sql/analytics/player_season_prior.sql).

Protects:
- every column of every row equals a brute-force pandas recompute of the SQL header's
  definitions, on a generated league of two seasons (the same seed: some players return,
  others are new) with a few lost totals and DNP rows in the first: the previous season is
  the label before the row's, its played games only, a lost total left out of that stat's
  mean, the usage formula per team on the whole season's totals;
- honesty: a player absent last season has games_played_prev_season 0 and NULL means; a
  warehouse's first season, and a season whose previous one the warehouse lacks (never
  replaced by an older one), have games_played_prev_season NULL;
- the rows are exactly upcoming_player_game_context's; a run of the new season alone
  gives the full run's values;
- point in time: Feast's training retrieval at noon US/Eastern on the new season's first
  game dates returns the brute-force values;
- the quality gates pass on every date of both seasons (NULL everywhere in the first),
  and stop a previous season read as 0 games for everyone;
- the BigQuery emulator gives the same values, floats to the bit (marked prod).
"""
from __future__ import annotations

import math
import shutil

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from feature_repo import catalog
from materialize import gates
from nbafs import paths, timeline
from tests.feast_repo import applied_store
from transformations.runner import run as transform
from warehouse import engine, sample_season
from warehouse.markets import STATS
from warehouse.schema import (
    BDL_PLAYER_BOXSCORES,
    PLAYER_GAME_SUMMARY,
    PLAYER_SEASON_PRIOR,
    SCHEDULE,
    TEAM_BOXSCORES,
    UPCOMING_PLAYER_GAME_CONTEXT,
)
from warehouse.validate import conform

OLD, NEW = "2024-25", "2025-26"
ROW_KEYS = ["game_id", "game_date", "player_lookup", "team_abbr", "season", "games_played_season"]
LOST = ("points", "rebounds", "assists", "fg3m")  # lost once each in the old season, by different players
PRIOR = [f.name for f in catalog.SEASON_PRIOR_FEATURES]


def read(table) -> pd.DataFrame:
    return engine.current().read(table).to_pandas()


def _tables() -> dict[str, pd.DataFrame]:
    return {"prior": read(PLAYER_SEASON_PRIOR), "context": read(UPCOMING_PLAYER_GAME_CONTEXT),
            "summary": read(PLAYER_GAME_SUMMARY), "teams": read(TEAM_BOXSCORES), "schedule": read(SCHEDULE)}


def _lose_totals() -> None:
    """A played old-season row of returning regulars loses each of LOST (the source dropped it: NULL, not 0)."""
    wh = engine.current()
    box = wh.read(BDL_PLAYER_BOXSCORES).to_pandas()
    season = box.game_date.map(timeline.season_of)
    played = box[(box.minutes > 0) & (season == OLD)].sort_values(["player_lookup", "game_date"])
    regulars = played.player_lookup.value_counts()
    players = sorted(set(regulars[regulars >= 3].index) & set(box[(box.minutes > 0) & (season == NEW)].player_lookup))
    for col in LOST:  # one of two non-zero values, each of another player: so the mean moves when it is lost
        player = next(p for p in players if (played[played.player_lookup == p][col] > 0).sum() >= 2)
        players.remove(player)
        rows = played[(played.player_lookup == player) & (played[col] > 0)]
        box.loc[rows.index[0], col] = None
    days = sorted(set(box.game_date))
    wh.write_partitions(BDL_PLAYER_BOXSCORES, conform(BDL_PLAYER_BOXSCORES, box.reset_index(drop=True),
                                                      source="tests/test_season_prior.py"), replace_dates=days)


@pytest.fixture(scope="module")
def league_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("season-prior")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(d))
        sample_season.generate(OLD, seed=3, n_teams=6, games_per_team=8)
        sample_season.generate(NEW, seed=3, n_teams=6, games_per_team=20)
        _lose_totals()
        transform(progress=None)
    return d


@pytest.fixture
def league(league_dir, monkeypatch) -> dict[str, pd.DataFrame]:
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(league_dir))
    return _tables()


# --- the oracle ------------------------------------------------------------------------------


def prev_label(season: str) -> str:
    start = int(season[:4])
    return f"{start - 1}-{start % 100:02d}"


class Oracle:
    """Every column of a player_season_prior row, from player_game_summary and the team box scores."""

    def __init__(self, t: dict[str, pd.DataFrame]):
        s = t["summary"].copy()
        s["threes_made"] = s.fg3m
        s["pra"] = s.points + s.rebounds + s.assists  # NaN when any part is
        self.summary = s
        self.by_player = {k: g for k, g in s[s.minutes > 0].groupby(["player_lookup", "season"])}
        teams = t["teams"].merge(t["schedule"][["game_id", "season"]], on="game_id")
        self.by_team = {k: g for k, g in teams.groupby(["team_abbr", "season"])}

    def expected(self, row) -> dict[str, object]:
        day, prev = row.game_date, prev_label(row.season)
        held = ((self.summary.season == prev) & (self.summary.game_date < day)).any()
        games = self.by_player.get((row.player_lookup, prev))
        games = games[games.game_date < day] if games is not None else self.summary.iloc[:0]
        out: dict[str, object] = {
            "prev_season": prev,
            "games_played_prev_season": len(games) if held else None,
            "minutes_avg_prev_season": _mean(games.minutes),
            **{f"{stat}_avg_prev_season": _mean(games[stat]) for stat in STATS},
            "event_timestamp": pd.Timestamp(timeline.upcoming_known_at(day)),
        }
        plays = denominator = 0.0
        created = [row.context_created_at, *games.created_at]
        for team, stint in games[games.usage_rate.notna()].groupby("team_abbr"):
            tg = self.by_team[(team, prev)]
            tg = tg[tg.game_date < day]
            team_plays = (tg.fga + 0.44 * tg.fta + tg.turnovers).sum()
            plays += (stint.fga + 0.44 * stint.fta + stint.turnovers).sum()
            denominator += stint.minutes.sum() * team_plays / (tg.minutes.sum() / 5)
            created += list(tg.created_at)
        out["usage_rate_prev_season"] = 100 * plays / denominator if denominator else None
        out["created_at"] = max(created)
        return out


def _mean(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.mean()) if len(values) else None


def _same(got, want) -> bool:
    if want is None:
        return got is None or pd.isna(got)
    if got is None or pd.isna(got):
        return False
    if isinstance(want, pd.Timestamp):
        return pd.Timestamp(got) == want
    if isinstance(want, str):
        return got == want
    return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-9)


def mismatches(t: dict[str, pd.DataFrame], rows: pd.DataFrame) -> list[str]:
    oracle = Oracle(t)
    ctx = t["context"].set_index(["game_id", "player_lookup"]).created_at.rename("context_created_at")
    rows = rows.join(ctx, on=["game_id", "player_lookup"])
    checked = [c for c in PLAYER_SEASON_PRIOR.column_names if c not in ROW_KEYS]
    bad = []
    for row in rows.itertuples():
        want = oracle.expected(row)
        assert set(checked) <= set(want), f"the oracle misses {set(checked) - set(want)}"
        bad += [f"{row.game_id} {row.player_lookup} {row.game_date} {c}: got {getattr(row, c)}, expected {want[c]}"
                for c in checked if not _same(getattr(row, c), want[c])]
    return bad


# --- every column, brute force ---------------------------------------------------------------


def test_every_row_matches_brute_force_across_the_season_boundary(league):
    prior = league["prior"]
    bad = mismatches(league, prior)
    assert not bad, f"{len(bad)} values differ from the brute force, e.g.\n" + "\n".join(bad[:10])
    # the rows the brute force covered: the first season knows no previous one ...
    old, new = prior[prior.season == OLD], prior[prior.season == NEW]
    assert len(old) > 100 and old[PRIOR].isna().all().all()
    # ... the new season's first games carry last season's figures for those who played it ...
    first = new[new.games_played_season == 0]
    returning = first[first.games_played_prev_season > 0]
    assert len(returning) > 20 and returning[PRIOR].notna().all().all()
    assert (first.game_date == new.game_date.min()).any()
    # ... and newcomers a real 0, with NULL means
    newcomers = new[new.games_played_prev_season == 0]
    assert len(newcomers) > 20 and newcomers[PRIOR].drop(columns="games_played_prev_season").isna().all().all()
    assert new.games_played_prev_season.notna().all()


@pytest.mark.parametrize("column", LOST)
def test_a_lost_total_is_left_out_of_its_mean_only(league, column):
    """The brute force covers these rows; this says they exist and what they show."""
    stat = {"fg3m": "threes_made"}.get(column, column)
    summary, prior = league["summary"], league["prior"]
    (lost,) = summary[summary[column].isna()].itertuples()
    games = summary[(summary.player_lookup == lost.player_lookup) & (summary.season == OLD) & (summary.minutes > 0)]
    row = prior[(prior.player_lookup == lost.player_lookup) & (prior.season == NEW)].iloc[0]
    assert row.games_played_prev_season == len(games) >= 3
    assert row[f"{stat}_avg_prev_season"] == pytest.approx(games[column].dropna().mean())  # not a 0 in the mean
    assert row[f"{stat}_avg_prev_season"] != pytest.approx(games[column].fillna(0).mean())
    pra = games.points + games.rebounds + games.assists  # pra is lost with any of its parts
    assert pra.isna().sum() == (column != "fg3m") and row.pra_avg_prev_season == pytest.approx(pra.dropna().mean())
    other = "assists" if column == "rebounds" else "rebounds"
    assert row[f"{other}_avg_prev_season"] == pytest.approx(games[other].mean())  # the game still counts there


def test_dnp_rows_are_not_games(league):
    summary, prior = league["summary"], league["prior"]
    dnp = summary[(summary.season == OLD) & (summary.minutes == 0)]
    assert len(dnp)
    counts = summary[(summary.season == OLD) & (summary.minutes > 0)].groupby("player_lookup").size()
    new = prior[prior.season == NEW].drop_duplicates("player_lookup").set_index("player_lookup")
    for player in set(dnp.player_lookup) & set(new.index):
        assert new.at[player, "games_played_prev_season"] == counts.get(player, 0)


def test_rows_are_exactly_the_context_rows(league):
    prior, ctx = league["prior"], league["context"]
    assert not prior.duplicated(["game_id", "player_lookup"]).any()
    got = prior[ROW_KEYS].sort_values(ROW_KEYS).reset_index(drop=True)
    want = ctx[ROW_KEYS].sort_values(ROW_KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert list(prior.columns) == PLAYER_SEASON_PRIOR.column_names


def test_a_run_of_the_new_season_alone_gives_the_full_run_values(league, league_dir, tmp_path, monkeypatch):
    d = tmp_path / "league"
    shutil.copytree(league_dir, d)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    new_days = sorted(set(league["context"][league["context"].season == NEW].game_date))
    transform(new_days[0], new_days[-1], progress=None)
    key = ["game_id", "player_lookup"]
    full = league["prior"].sort_values(key).reset_index(drop=True)
    again = read(PLAYER_SEASON_PRIOR).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(full, again)


def test_a_season_missing_from_the_warehouse_is_not_replaced_by_an_older_one(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "gap"))
    sample_season.generate("2023-24", seed=3, n_teams=4, games_per_team=6)
    sample_season.generate(NEW, seed=3, n_teams=4, games_per_team=6)
    transform(progress=None)
    prior = read(PLAYER_SEASON_PRIOR)
    new = prior[prior.season == NEW]
    assert len(new) and (new.prev_season == OLD).all()
    assert new[PRIOR].isna().all().all(), "2025-26 read 2023-24 as its previous season"


# --- point in time through Feast ----------------------------------------------------------------


def test_retrieval_at_noon_on_the_new_seasons_first_game_dates_returns_the_brute_force(league, tmp_path):
    store = applied_store(tmp_path / "feast")  # reads the tables of NBAFS_DATA_DIR
    prior = league["prior"]
    days = sorted(set(prior[prior.season == NEW].game_date))[:3]
    checked = 0
    for day in days:
        rows = prior[prior.game_date == day].sort_values("player_lookup")
        noon = pd.Timestamp(timeline.noon_eastern(day))
        entity = pd.DataFrame({"player_lookup": rows.player_lookup.to_list(), "event_timestamp": noon})
        got = store.get_historical_features(
            entity_df=entity, features=[f"player_season_prior:{f}" for f in PRIOR], filter_by_created_timestamp=True,
        ).to_df().set_index("player_lookup").loc[rows.player_lookup]
        oracle = Oracle(league)
        ctx = league["context"].set_index(["game_id", "player_lookup"]).created_at.rename("context_created_at")
        for row in rows.join(ctx, on=["game_id", "player_lookup"]).itertuples():
            want = oracle.expected(row)
            assert want["created_at"] <= noon, f"{row.player_lookup} {day}: written after noon in the sample"
            for f in PRIOR:
                assert _same(got.at[row.player_lookup, f], want[f]), \
                    f"{row.player_lookup} {day} {f}: served {got.at[row.player_lookup, f]}, expected {want[f]}"
                checked += 1
        assert got.games_played_prev_season.notna().all()
    assert checked > 100


# --- quality gates ---------------------------------------------------------------------------


def _judged(prior: pd.DataFrame) -> list[gates.GateFailure]:
    view_gates = gates.gates_for("player_season_prior", PRIOR)
    assert {g.feature for g in view_gates} == set(PRIOR)
    chunk = pa.Table.from_pandas(prior.assign(**{gates.DATE_COLUMN: prior.game_date}), preserve_index=False)
    return gates.judge(view_gates, gates.measure(duckdb.connect(), chunk, view_gates))


def test_gates_pass_on_every_date_of_both_seasons_and_stop_zero_everywhere(league):
    prior = league["prior"]
    assert _judged(prior) == []
    broken = prior.copy()
    broken.loc[broken.season == NEW, "games_played_prev_season"] = 0  # the previous season joined on nothing
    failures = _judged(broken)
    assert {f.rule for f in failures} == {"max_zero_share"}
    assert {f.feature for f in failures} == {"games_played_prev_season"}
    assert len({f.date for f in failures}) > 10


# --- BigQuery ----------------------------------------------------------------------------------


@pytest.mark.prod
def test_bigquery_gives_the_same_bits(league, prod_env):
    """The same SQL on the BigQuery emulator, over the same two seasons: every value equal, floats to the bit."""
    sample_season.generate(OLD, seed=3, n_teams=6, games_per_team=8)
    sample_season.generate(NEW, seed=3, n_teams=6, games_per_team=20)
    _lose_totals()
    transform(progress=None)
    key = ["game_id", "player_lookup"]
    local = league["prior"].sort_values(key).reset_index(drop=True)
    prod = read(PLAYER_SEASON_PRIOR).sort_values(key).reset_index(drop=True)
    assert len(local) == len(prod) and local[PRIOR].notna().sum().min() > 100
    as_objects = lambda col: col.astype(object).where(col.notna(), None)  # noqa: E731
    for col in PLAYER_SEASON_PRIOR.column_names:
        differ = [(x, y) for x, y in zip(as_objects(local[col]), as_objects(prod[col])) if x != y]
        assert not differ, f"{col}: {len(differ)} values differ, e.g. {differ[:3]}"
