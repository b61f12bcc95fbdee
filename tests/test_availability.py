"""nba_analytics.player_availability (transformations/sql/analytics/player_availability.sql).

Protects:
- every column equals a brute-force pandas recompute of the definitions in the SQL
  header, row by row, on a generated league (with a trade) and on the tiny season (DNP rows, a traded
  player, future games without box scores, box scores that lost a row);
- point in time: rewriting or deleting every box-score row written after 06:00 UTC on a
  game date D (the games of D and later, late corrections of earlier games) leaves every
  availability row of D that is visible at that time exactly as it was; a row that read
  a late correction says so in its created_at (so retrieval at that time hides it);
  Feast's training retrieval at noon on D returns those rows' values before and after,
  and nothing for the rows that read the correction (the player's earlier row is out of
  the view's 1-day ttl).
"""
from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest

from feature_repo.catalog import AVAILABILITY
from nbafs import paths
from tests.feast_repo import applied_store
from tests import tiny_season
from transformations.runner import run as transform
from warehouse import sample_season, storage
from warehouse.schema import (
    BDL_PLAYER_BOXSCORES,
    PLAYER_AVAILABILITY,
    PLAYER_GAME_SUMMARY,
    SCHEDULE,
    TEAM_BOXSCORES,
    UPCOMING_PLAYER_GAME_CONTEXT,
)
from warehouse.validate import conform

ROTATION_MINUTES = 15.0  # the SQL's rule (ii)
ROTATION_GAMES = 10      # the SQL's rule (iii)
COMPLETE_WITHIN = 12.0   # a box score is complete when its minutes add up to the team's less this
VALUES = ["games_played_season", "rotation_teammates_out", "vacated_minutes", "vacated_usage_share",
          "player_missed_last_game", "player_games_missed_last_5", "event_timestamp", "created_at"]
KEY = ["game_id", "player_lookup"]


def read(table) -> pd.DataFrame:
    return storage.read_table(table).to_pandas()


def _built(directory, make) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(directory))
        make()
        transform(progress=None)


@pytest.fixture(scope="module")
def league_dir(tmp_path_factory):
    """A small generated league (6 teams x 24 games), transformed (read it only)."""
    d = tmp_path_factory.mktemp("availability-league")
    _built(d, lambda: sample_season.generate(seed=11, n_teams=6, games_per_team=24))
    return d


INCOMPLETE = 3  # team-games of the tiny season whose box score loses its top player's row


def _tiny_with_complete_box_scores() -> None:
    """The tiny season with each team's minutes equal to its players' (the fixture's are 240
    while its players add up to ~170, which reads as box scores with lost rows), except in
    INCOMPLETE team-games whose busiest player's row is lost."""
    frames = tiny_season.build(seed=5)
    box, teams = frames[BDL_PLAYER_BOXSCORES.fqn], frames[TEAM_BOXSCORES.fqn]
    played = box.groupby(["game_id", "team_abbr"]).minutes.sum().round(1)
    teams["minutes"] = [played[(g, t)] for g, t in zip(teams.game_id, teams.team_abbr)]
    lost = box[box.game_date < box.game_date.max()].sort_values("minutes").groupby(["game_id", "team_abbr"]).tail(1)
    frames[BDL_PLAYER_BOXSCORES.fqn] = box.drop(index=lost.sample(INCOMPLETE, random_state=2).index)
    tiny_season.write(frames)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("availability-tiny")
    _built(d, _tiny_with_complete_box_scores)
    return d


# --- the oracle ----------------------------------------------------------------------------

class Oracle:
    """The header's definitions, recomputed one context row at a time from the tables' rows."""

    def __init__(self, box: pd.DataFrame, schedule: pd.DataFrame):
        box = box.sort_values(["game_date", "game_id"], kind="stable")
        self.rows = {key: list(df.itertuples(index=False)) for key, df in box.groupby(["player_lookup", "season"])}
        self.team_rows = {key: list(df.itertuples(index=False)) for key, df in box.groupby(["team_abbr", "season"])}
        self.minutes = {(r.game_id, r.team_abbr, r.player_lookup): r.minutes for r in box.itertuples(index=False)}
        sums = box.groupby(["game_id", "team_abbr"]).agg(minutes=("minutes", "sum"), team=("team_minutes", "max"))
        complete = set(sums[sums.minutes >= sums.team - COMPLETE_WITHIN].index)
        self.games: dict[tuple[str, str], list] = {}  # the team's games with a complete box score
        self.read_games: dict[tuple[str, str], list] = {}  # and all those with box-score rows
        for g in schedule.sort_values(["game_date", "game_id"]).itertuples(index=False):
            for team in (g.home_team_abbr, g.away_team_abbr):
                if (g.game_id, team) in sums.index:
                    self.read_games.setdefault((team, g.season), []).append(g)
                if (g.game_id, team) in complete:
                    self.games.setdefault((team, g.season), []).append(g)

    def played(self, game_id: str, team: str, player: str) -> bool:
        return self.minutes.get((game_id, team, player), 0) > 0

    def row(self, ctx) -> dict:
        day, team, player, season = ctx.game_date, ctx.team_abbr, ctx.player_lookup, ctx.season
        own = [r for r in self.rows.get((player, season), []) if r.game_date < day]
        team_rows = [r for r in self.team_rows.get((team, season), []) if r.game_date < day]
        games = [g for g in self.games.get((team, season), []) if g.game_date < day]
        candidates = []  # rule (i): latest row before D for the team
        for mate in {r.player_lookup for r in team_rows}:
            theirs = [r for r in self.rows[(mate, season)] if r.game_date < day]
            if theirs[-1].team_abbr == team:
                candidates.append((mate, theirs))
        read_games = [g for g in self.read_games.get((team, season), []) if g.game_date < day]
        created = [ctx.created_at] + [r.created_at for r in own + team_rows] + [g.created_at for g in read_games]
        created += [r.created_at for _, theirs in candidates for r in theirs]
        out = dict(games_played_season=ctx.games_played_season,
                   event_timestamp=pd.Timestamp(day).tz_localize("UTC") + pd.Timedelta(hours=6),
                   created_at=max(created), rotation_teammates_out=None, vacated_minutes=None,
                   vacated_usage_share=None, player_missed_last_game=None, player_games_missed_last_5=None)
        if not games:
            return out
        last = games[-1]
        window_start = games[max(len(games) - 1 - ROTATION_GAMES, 0)].game_date
        out_minutes, out_usage = [], []
        for mate, theirs in candidates:
            played = [r for r in theirs if r.minutes > 0 and r.game_date < last.game_date]
            if mate == player or not played:
                continue
            last5 = played[-5:]
            minutes = np.mean([r.minutes for r in last5])
            usage = np.nanmean([np.nan if pd.isna(r.usage_rate) else r.usage_rate for r in last5])
            rotation = minutes >= ROTATION_MINUTES and played[-1].team_abbr == team and played[-1].game_date >= window_start
            if rotation and not self.played(last.game_id, team, mate):
                out_minutes.append(minutes)
                out_usage.append(usage * minutes / 48)
        out.update(rotation_teammates_out=len(out_minutes), vacated_minutes=float(sum(out_minutes)),
                   vacated_usage_share=float(sum(out_usage)))
        if own and own[-1].team_abbr == team:  # on the team's roster before D (not his first game after a trade)
            first = min(r.game_date for r in own if r.team_abbr == team)
            recent = [g for g in games[-5:] if g.game_date >= first]
            out.update(player_missed_last_game=not self.played(last.game_id, team, player),
                       player_games_missed_last_5=sum(not self.played(g.game_id, team, player) for g in recent))
        return out


def assert_rows_match_oracle(rows: pd.DataFrame) -> None:
    oracle = Oracle(read(PLAYER_GAME_SUMMARY), read(SCHEDULE))
    context = read(UPCOMING_PLAYER_GAME_CONTEXT).set_index(KEY, drop=False)
    for got in rows.itertuples(index=False):
        want = oracle.row(context.loc[(got.game_id, got.player_lookup)])
        where = f"{got.game_id} {got.game_date} {got.team_abbr} {got.player_lookup}"
        for col, value in want.items():
            have = getattr(got, col)
            if value is None:
                assert pd.isna(have), f"{where}: {col} = {have}, expected NULL"
            elif isinstance(value, float):
                assert have == pytest.approx(value, abs=2e-6), f"{where}: {col} = {have}, expected {value}"
            else:
                assert have == value, f"{where}: {col} = {have}, expected {value}"


def test_grain_is_the_context_rows(league_dir, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(league_dir))
    rows, context = read(PLAYER_AVAILABILITY), read(UPCOMING_PLAYER_GAME_CONTEXT)
    assert not rows.duplicated(KEY).any()
    pairs = lambda df: set(map(tuple, df[KEY + ["game_date", "team_abbr", "season"]].to_numpy()))  # noqa: E731
    assert pairs(rows) == pairs(context)


def test_every_column_matches_a_brute_force_recompute_on_a_generated_league(league_dir, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(league_dir))
    rows = read(PLAYER_AVAILABILITY)
    sample = rows.sample(300, random_state=0)
    # and every kind of value the features take
    sample = pd.concat([sample, rows[rows.rotation_teammates_out.isna()].head(20),
                        rows[rows.rotation_teammates_out >= 2].head(20),
                        rows[rows.player_missed_last_game.isna() & rows.rotation_teammates_out.notna()].head(10)])
    assert (sample.rotation_teammates_out > 0).sum() >= 50 and sample.player_missed_last_game.eq(True).sum() >= 20
    assert_rows_match_oracle(sample.drop_duplicates(KEY))


def test_every_column_matches_a_brute_force_recompute_on_the_tiny_season(tiny_dir, monkeypatch):
    """All rows: DNP rows (minutes 0 = did not play), the traded player, future games, and
    box scores that lost a row (not a last game: who sat it is unknown)."""
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tiny_dir))
    rows = read(PLAYER_AVAILABILITY)
    traded = rows[rows.player_lookup == tiny_season.TRADED]
    assert set(traded.team_abbr) == {"AAA", "CCC"}
    box = read(PLAYER_GAME_SUMMARY)
    sums = box.groupby(["game_id", "team_abbr"]).agg(minutes=("minutes", "sum"), team=("team_minutes", "max"))
    assert (sums.minutes < sums.team - COMPLETE_WITHIN).sum() == INCOMPLETE
    assert_rows_match_oracle(rows)


def test_null_only_where_nothing_is_known(league_dir, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(league_dir))
    rows = read(PLAYER_AVAILABILITY)
    first_day = rows.game_date == rows.game_date.min()
    assert rows[first_day].rotation_teammates_out.isna().all()
    later = rows[~first_day]
    team_counts = ["rotation_teammates_out", "vacated_minutes", "vacated_usage_share"]
    assert later[team_counts].isna().mean().max() < 0.05  # only the teams' first games
    assert (later.vacated_minutes.fillna(0) == 0).eq(later.rotation_teammates_out.fillna(0) == 0).all()
    played = later[later.games_played_season > 0]
    own = ["player_missed_last_game", "player_games_missed_last_5"]
    box = read(PLAYER_GAME_SUMMARY)
    firsts = box.sort_values("game_date").drop_duplicates(["player_lookup", "team_abbr"])  # first game for each team
    moved = firsts[firsts.duplicated("player_lookup")]  # a traded player's first game for his new team
    first_for_new = played.set_index(["game_id", "player_lookup"]).index.isin(list(zip(moved.game_id, moved.player_lookup)))
    assert len(moved) and played[first_for_new][own].isna().all().all()
    assert played[~first_for_new][own].notna().all().all()


# --- point in time -----------------------------------------------------------------------------

def _visible(rows: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    return rows[rows.created_at <= at].set_index(KEY).sort_index()


def _rewrite_after(day: dt.date, at: pd.Timestamp, team: str, rng: np.random.Generator) -> None:
    """Rewrite every raw box-score row written after ``at``, and add a late correction for ``team``.

    Rows written after ``at`` (the games of ``day`` and later, late corrections): minutes
    shuffled, points and shots changed, a third of the player rows deleted, the team
    rows' FGA changed. And a regular of ``team`` did not play its last game before ``day``
    after all: a correction written a day after ``at``.
    """
    box, teams = read(BDL_PLAYER_BOXSCORES), read(TEAM_BOXSCORES)
    late = box.created_at > at
    assert box[box.game_date >= day].created_at.gt(at).all()
    changed = box[late].copy()
    changed["minutes"] = rng.permutation(changed.minutes.to_numpy())
    changed["points"] = changed.points + rng.integers(0, 9, len(changed))
    changed["fga"] = changed.fga + rng.integers(0, 5, len(changed))
    keep = rng.random(len(changed)) > 1 / 3
    earlier = box[(box.game_date < day) & ~late & (box.team_abbr == team)]
    last = earlier[earlier.game_date == earlier.game_date.max()]
    corrected = [last[last.minutes > 20].sort_values("player_lookup").index[0]]
    fix = box.loc[corrected].copy()
    fix[["minutes", "points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "rebounds",
         "assists", "steals", "blocks", "turnovers", "personal_fouls"]] = 0
    fix["created_at"] = at + pd.Timedelta(days=1)
    new_box = pd.concat([box[~late].drop(index=corrected), changed[keep], fix])
    team_late = teams.created_at > at
    new_teams = teams.copy()
    new_teams.loc[team_late, "fga"] += 7
    for t, df in ((BDL_PLAYER_BOXSCORES, new_box), (TEAM_BOXSCORES, new_teams)):
        storage.write_partitions(t, conform(t, df.reset_index(drop=True), source="tests/test_availability.py"),
                                 replace_dates=sorted(set(read(t).game_date)))


def _retrieve(store, players: list[str], at: pd.Timestamp) -> pd.DataFrame:
    """The availability features training retrieval returns for ``players`` at time ``at``."""
    entity = pd.DataFrame({"player_lookup": players, "event_timestamp": at})
    got = store.get_historical_features(
        entity_df=entity, features=[f"player_availability:{f}" for f in AVAILABILITY], filter_by_created_timestamp=True,
    ).to_df()
    return got.set_index("player_lookup").loc[players, list(AVAILABILITY)]


def assert_frame_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.astype(object).where(a.notna(), None), b.astype(object).where(b.notna(), None),
                                  check_dtype=False, check_names=False)


def test_rows_of_a_day_never_read_what_was_written_after_it(league_dir, tmp_path, monkeypatch):
    d = tmp_path / "league"
    shutil.copytree(league_dir, d)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(d))
    rng = np.random.default_rng(1)
    store = applied_store(tmp_path / "feast")  # reads the tables of NBAFS_DATA_DIR when asked
    before = read(PLAYER_AVAILABILITY)
    games_per_day = before.groupby("game_date").team_abbr.nunique()
    busy = games_per_day[games_per_day == games_per_day.max()].index
    compared = hidden = 0
    for day in (busy[len(busy) // 3], busy[2 * len(busy) // 3]):
        at = pd.Timestamp(day).tz_localize("UTC") + pd.Timedelta(hours=6)
        rows_of_day = before[before.game_date == day]
        team = sorted(rows_of_day.team_abbr.unique())[0]
        original = _visible(rows_of_day, at)
        noon = at + pd.Timedelta(hours=6)
        players = sorted(rows_of_day.player_lookup)
        served_before = _retrieve(store, players, noon)
        stored = rows_of_day.set_index("player_lookup").loc[players]
        assert_frame_equal(served_before, stored[list(AVAILABILITY)].where(stored.created_at <= noon, None))
        _rewrite_after(day, at, team, rng)
        transform(progress=None)
        after = read(PLAYER_AVAILABILITY)
        now = after[after.game_date == day].set_index(KEY).sort_index()
        # every row visible at 06:00 on D is what it was (a debutant deleted from D's box score has none)
        visible = now[now.created_at <= at]
        both = visible.index.intersection(original.index)
        assert len(both) == len(visible) and len(both) >= 0.5 * len(original)
        pd.testing.assert_frame_equal(visible.loc[both, VALUES], original.loc[both, VALUES])
        # the rows that read the late correction say so: retrieval at 06:00 does not see them
        late = now[now.created_at > at]
        already_late = set(rows_of_day[rows_of_day.created_at > at].team_abbr)
        assert team in set(late.team_abbr) <= {team} | already_late
        assert (now.loc[now.team_abbr == team, "created_at"] > at).all()
        served_after = _retrieve(store, players, noon)
        of_team = set(rows_of_day[rows_of_day.team_abbr == team].player_lookup)
        others = [p for p in players if p not in of_team and p in set(visible.index.get_level_values(1))]
        assert_frame_equal(served_after.loc[others], served_before.loc[others])
        assert served_after.loc[sorted(of_team)].isna().all().all()
        compared, hidden = compared + len(both), hidden + len(late)
        before = after
    assert compared >= 60 and hidden >= 20
