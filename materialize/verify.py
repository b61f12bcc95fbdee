"""Per-date checks of the derived tables: coverage of usage_rate and of the rolling usage, and
usage_spike_score (the feature that was silently 0 for months).

    nbafs verify                                   every date of the derived tables
    nbafs verify --start 2025-11-13 --end 2026-01-30
    nbafs verify --json                            the same figures for machines

For each game date, read from the active profile's warehouse (one query, DuckDB or BigQuery):

    box rows       nba_analytics.player_game_summary rows; played: those with minutes > 0
    usage %        share of played player-games with a usage_rate (must be 100)
    ctx rows       nba_analytics.upcoming_player_game_context rows; w/ history: players
                   with at least one earlier played game this season
    avg usage L7 % share of those with avg_usage_rate_last_7_games (must be 100)
    pcf rows       nba_precompute.player_composite_factors rows (must equal ctx rows)
    spike mean / non-zero / NULL
                   usage_spike_score: mean, non-zero count and NULL count

A date fails when a played player-game has no usage_rate, a player with history has
no rolling usage, usage_spike_score is NULL although both its inputs are there, every
usage_spike_score of the date is 0, or the context or composite rows are missing. The
command then exits with status 1 and says which date and what.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from nbafs.errors import UserError
from nbafs.timeline import argparse_date
from warehouse import engine

PER_DATE_SQL = """
WITH
box AS (
  SELECT game_date,
         COUNT(*) AS box_rows,
         COUNTIF(minutes > 0) AS played,
         COUNTIF(minutes > 0 AND usage_rate IS NOT NULL) AS played_with_usage
  FROM nba_analytics.player_game_summary
  WHERE game_date BETWEEN @start AND @end
  GROUP BY game_date
),
ctx AS (
  SELECT game_date,
         COUNT(*) AS context_rows,
         COUNTIF(games_played_season > 0) AS with_history,
         COUNTIF(games_played_season > 0 AND avg_usage_rate_last_7_games IS NOT NULL) AS with_history_and_usage
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date BETWEEN @start AND @end
  GROUP BY game_date
),
pcf AS (
  SELECT f.game_date,
         COUNT(*) AS composite_rows,
         AVG(f.usage_spike_score) AS spike_mean,
         COUNTIF(f.usage_spike_score IS NOT NULL AND f.usage_spike_score <> 0) AS spike_nonzero,
         COUNTIF(f.usage_spike_score IS NULL) AS spike_null,
         COUNTIF(f.usage_spike_score IS NULL AND f.season_usage_rate > 0
                  AND c.avg_usage_rate_last_7_games IS NOT NULL) AS spike_null_with_inputs
  FROM nba_precompute.player_composite_factors AS f
  LEFT JOIN nba_analytics.upcoming_player_game_context AS c
    ON c.game_id = f.game_id AND c.player_lookup = f.player_lookup
  WHERE f.game_date BETWEEN @start AND @end
  GROUP BY f.game_date
),
dates AS (
  SELECT game_date FROM box UNION DISTINCT SELECT game_date FROM ctx UNION DISTINCT SELECT game_date FROM pcf
)
SELECT dates.game_date,
       COALESCE(box_rows, 0) AS box_rows, COALESCE(played, 0) AS played,
       COALESCE(played_with_usage, 0) AS played_with_usage,
       COALESCE(context_rows, 0) AS context_rows, COALESCE(with_history, 0) AS with_history,
       COALESCE(with_history_and_usage, 0) AS with_history_and_usage,
       COALESCE(composite_rows, 0) AS composite_rows, spike_mean,
       COALESCE(spike_nonzero, 0) AS spike_nonzero, COALESCE(spike_null, 0) AS spike_null,
       COALESCE(spike_null_with_inputs, 0) AS spike_null_with_inputs
FROM dates
LEFT JOIN box USING (game_date)
LEFT JOIN ctx USING (game_date)
LEFT JOIN pcf USING (game_date)
ORDER BY dates.game_date
"""


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _problems(r: dict) -> list[str]:
    out = []
    if r["played_with_usage"] < r["played"]:
        out.append(f"{r['played'] - r['played_with_usage']} of {r['played']} played player-games have no usage_rate")
    if r["with_history_and_usage"] < r["with_history"]:
        out.append(
            f"{r['with_history'] - r['with_history_and_usage']} of {r['with_history']} context rows of players "
            f"with an earlier game have no avg_usage_rate_last_7_games"
        )
    if r["spike_null_with_inputs"]:
        out.append(f"{r['spike_null_with_inputs']} usage_spike_score NULL although both inputs are present")
    spikes = r["composite_rows"] - r["spike_null"]
    if spikes and r["spike_nonzero"] == 0:
        out.append(f"usage_spike_score is 0 for all {spikes} rows that have one (a silent default?)")
    if r["box_rows"] and not r["context_rows"]:
        out.append(f"{r['box_rows']} box-score rows but no upcoming_player_game_context rows")
    if r["composite_rows"] != r["context_rows"]:
        out.append(f"{r['composite_rows']} player_composite_factors rows for {r['context_rows']} context rows")
    return out


def verify(start: dt.date | None = None, end: dt.date | None = None) -> list[dict]:
    """One dict per game date with rows in a derived table, ``start``..``end`` inclusive.

    Keys: game_date (ISO text), box_rows, played, usage_rate_pct, context_rows,
    with_history, avg_usage_last_7_pct, composite_rows, spike_mean, spike_nonzero,
    spike_null, problems (list of sentences; empty when the date passes).
    """
    rows = engine.current().query(
        PER_DATE_SQL, {"start": start or dt.date(1, 1, 1), "end": end or dt.date(9999, 12, 31)}
    ).to_pylist()
    out = []
    for r in sorted(rows, key=lambda r: r["game_date"]):
        out.append({
            "game_date": r["game_date"].isoformat(),
            "box_rows": r["box_rows"],
            "played": r["played"],
            "usage_rate_pct": _pct(r["played_with_usage"], r["played"]),
            "context_rows": r["context_rows"],
            "with_history": r["with_history"],
            "avg_usage_last_7_pct": _pct(r["with_history_and_usage"], r["with_history"]),
            "composite_rows": r["composite_rows"],
            "spike_mean": None if r["spike_mean"] is None else round(r["spike_mean"], 4),
            "spike_nonzero": r["spike_nonzero"],
            "spike_null": r["spike_null"],
            "problems": _problems(r),
        })
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=argparse_date, help="first game date (default: the first with derived rows)")
    parser.add_argument("--end", type=argparse_date, help="last game date (default: the last with derived rows)")
    parser.add_argument("--json", action="store_true", help="print the per-date figures as JSON")


COLUMNS = (
    ("game_date", "date"), ("box_rows", "box rows"), ("played", "played"), ("usage_rate_pct", "usage %"),
    ("context_rows", "ctx rows"), ("with_history", "w/ history"), ("avg_usage_last_7_pct", "avg usage L7 %"),
    ("composite_rows", "pcf rows"), ("spike_mean", "spike mean"), ("spike_nonzero", "spike non-zero"),
    ("spike_null", "spike NULL"),
)


def render_table(results: list[dict]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold")
    for _key, title in COLUMNS:
        table.add_column(title, justify="left" if _key == "game_date" else "right")
    table.add_column("status")
    for r in results:
        cells = ["-" if r[k] is None else (f"{r[k]:,}" if isinstance(r[k], int) else str(r[k])) for k, _ in COLUMNS]
        table.add_row(*cells, "FAIL" if r["problems"] else "ok")
    console = Console(width=160, record=True, file=_Null())
    console.print(table)
    return console.export_text()


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def run(args: argparse.Namespace) -> int:
    if args.start and args.end and args.start > args.end:
        raise UserError(f"--start {args.start} is after --end {args.end}: expected start <= end")
    results = verify(args.start, args.end)
    if not results:
        raise UserError(
            f"no derived rows for {args.start or 'the first date'} .. {args.end or 'the last date'} in "
            f"{engine.current().where()}: run `nbafs transform` first (or check NBAFS_DATA_DIR, or "
            f"NBAFS_GCP_PROJECT in the prod profile)"
        )
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        sys.stdout.write(render_table(results))
    failed = [(r["game_date"], p) for r in results for p in r["problems"]]
    for day, problem in failed:
        print(f"nbafs verify: {day}: {problem}", file=sys.stderr)
    if failed:
        print(
            f"nbafs verify: {len({d for d, _ in failed})} of {len(results)} date(s) failed", file=sys.stderr,
        )
        return 1
    print(f"{len(results)} date(s) verified, all checks passed", file=sys.stderr)
    return 0
