"""What a bettor would have made: flat bets on the model's side, at the prices the books offered.

    result = evaluate_bets(frame, "rebounds")     # frame: out-of-sample rows with their bet offer
    result["verdict"]                             # plain words; says so when the books win
    print(markdown_table({"rebounds": summary_row(result)}))

``frame`` holds, per evaluation player-game: ``actual`` (the stat), ``p_over`` (the
model's out-of-sample P(stat > bet_line)), ``game_date`` and the offer at the bet
snapshot (``model/outcomes.bet_offers``): ``bet_line``, ``market_over_prob`` and the
``consensus_``/``best_`` ``over``/``under`` prices as **decimal odds** (stake back
included: +150 is 2.5, -110 is 1.909).

Rule: one unit on the over when p_over > 0.5, on the under when < 0.5; no bet at
exactly 0.5, nor without a line, a price for that side or an outcome. A win pays
``price - 1``, a loss costs the stake, a push gives it back (it still counts as
staked). ROI = profit / units staked, at the consensus price and at the best price,
each with a 95% percentile bootstrap interval over game dates (the outcomes of one
day share games and lines). Calibration: Brier score and reliability bins of p_over
and of the market's no-vig probability on the same rows (all rows with both, pushes
excluded).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

RESAMPLES = 2000
SEED = 0
BINS = 10  # reliability bins of width 0.1 over [0, 1]
SIDES = ("over", "under")


def decimal_odds(american) -> np.ndarray:
    """American odds as decimal odds (stake included); NaN for a missing or impossible price (|p| < 100)."""
    a = np.asarray(american, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(a >= 100, 1 + a / 100, np.where(a <= -100, 1 + 100 / -a, np.nan))
    return out


def american_odds(decimal) -> np.ndarray:
    """Decimal odds back to American (for display): 2.5 -> +150, 1.909 -> -110; NaN at or below 1."""
    d = np.asarray(decimal, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d >= 2, 100 * (d - 1), np.where(d > 1, -100 / (d - 1), np.nan))


def bets(frame: pd.DataFrame) -> pd.DataFrame:
    """The bets the rule places, one per row with a side, a line, a price and an outcome.

    Columns: game_date, side, consensus_price, best_price (decimal), outcome
    (``win``/``loss``/``push``), profit_consensus, profit_best; index = frame's index.
    """
    _require(frame)
    p = frame["p_over"].to_numpy(dtype=float)
    line = frame["bet_line"].to_numpy(dtype=float)
    actual = frame["actual"].to_numpy(dtype=float)
    over = p > 0.5
    under = p < 0.5
    consensus = np.where(over, _col(frame, "consensus_over_price"), _col(frame, "consensus_under_price"))
    best = np.where(over, _col(frame, "best_over_price"), _col(frame, "best_under_price"))
    placed = (over | under) & ~np.isnan(line) & ~np.isnan(actual) & ~np.isnan(consensus) & ~np.isnan(best)
    won = np.where(over, actual > line, actual < line)
    push = actual == line
    outcome = np.where(push, "push", np.where(won, "win", "loss"))
    out = pd.DataFrame({
        "game_date": frame["game_date"].to_numpy(),
        "side": np.where(over, "over", "under"),
        "consensus_price": consensus,
        "best_price": best,
        "outcome": outcome,
    }, index=frame.index)[placed]
    for kind in ("consensus", "best"):
        price = out[f"{kind}_price"].to_numpy()
        out[f"profit_{kind}"] = np.select([out["outcome"] == "win", out["outcome"] == "loss"], [price - 1, -1.0], 0.0)
    return out


def roi_interval(placed: pd.DataFrame, profit: str, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """ROI of ``placed[profit]`` (one unit each) and its 95% bootstrap interval over game dates.

    Each resample draws the bets' game dates with replacement and takes all the bets of
    each date drawn; the interval is the 2.5th and 97.5th percentile of the resampled ROI.
    """
    if len(placed) == 0:
        return {"roi": None, "ci_low": None, "ci_high": None, "profit": None}
    by_day = placed.groupby("game_date")[profit].agg(["sum", "size"])
    total, staked = by_day["sum"].to_numpy(dtype=float), by_day["size"].to_numpy(dtype=float)
    draws = np.random.default_rng(seed).integers(0, len(by_day), size=(resamples, len(by_day)))
    roi = total[draws].sum(axis=1) / staked[draws].sum(axis=1)
    low, high = np.percentile(roi, [2.5, 97.5])
    return {"roi": float(total.sum() / staked.sum()), "ci_low": float(low), "ci_high": float(high),
            "profit": float(total.sum())}


def brier(p: np.ndarray, happened: np.ndarray) -> float | None:
    """Mean squared error of a probability against what happened (1/0); None without rows."""
    p, y = np.asarray(p, dtype=float), np.asarray(happened, dtype=float)
    return float(np.mean((p - y) ** 2)) if len(p) else None


def reliability(p: np.ndarray, happened: np.ndarray, bins: int = BINS) -> list[dict]:
    """Per predicted-probability bin [lo, hi) (the last one closed): rows, mean predicted, observed rate."""
    p, y = np.asarray(p, dtype=float), np.asarray(happened, dtype=float)
    which = np.clip(np.floor(p * bins).astype(int), 0, bins - 1) if len(p) else np.array([], dtype=int)
    out = []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        out.append({"lo": b / bins, "hi": (b + 1) / bins, "count": n,
                    "mean_predicted": float(p[inside].mean()) if n else None,
                    "observed_rate": float(y[inside].mean()) if n else None})
    return out


def calibration_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a line, an outcome, p_over and the market's probability, pushes excluded; ``over`` = 1/0."""
    line, actual = _col(frame, "bet_line"), _col(frame, "actual")
    p, market = _col(frame, "p_over"), _col(frame, "market_over_prob")
    keep = ~(np.isnan(line) | np.isnan(actual) | np.isnan(p) | np.isnan(market)) & (actual != line)
    return pd.DataFrame({"p_over": p[keep], "market_over_prob": market[keep],
                         "over": (actual[keep] > line[keep]).astype(float)})


def evaluate_bets(frame: pd.DataFrame, stat_label: str) -> dict:
    """Bets, hit rate beside break-even, ROI with intervals, calibration and a verdict (module doc)."""
    placed = bets(frame)
    counts = placed["outcome"].value_counts()
    wins, losses, pushes = (int(counts.get(k, 0)) for k in ("win", "loss", "push"))
    decided = placed[placed["outcome"] != "push"]
    cal = calibration_rows(frame)
    result = {
        "market": stat_label,
        "rows": int(len(frame)),
        "rows_with_line": int(frame["bet_line"].notna().sum()),
        "bets": int(len(placed)),
        "over_bets": int((placed["side"] == "over").sum()),
        "under_bets": int((placed["side"] == "under").sum()),
        "wins": wins,
        "losses": losses,
        "pushes": pushes,
        "hit_rate": wins / (wins + losses) if wins + losses else None,
        # The hit rate at which the prices taken break even, on the same (decided) bets.
        "break_even": _mean(1 / decided["consensus_price"]),
        "break_even_best": _mean(1 / decided["best_price"]),
        "roi": {kind: roi_interval(placed, f"profit_{kind}") for kind in ("consensus", "best")},
        "bootstrap": {"resamples": RESAMPLES, "seed": SEED, "unit": "game date",
                      "days": int(placed["game_date"].nunique()), "interval": "95% percentile"},
        "calibration": {
            "rows": int(len(cal)),
            "brier_model": brier(cal["p_over"], cal["over"]),
            "brier_market": brier(cal["market_over_prob"], cal["over"]),
            "reliability": {"model": reliability(cal["p_over"], cal["over"]),
                            "market": reliability(cal["market_over_prob"], cal["over"])},
        },
    }
    result["verdict"] = verdict(result)
    return result


def verdict(result: dict) -> str:
    """Plain words: who wins, on calibration and on money; never more than the interval allows."""
    label = result["market"]
    if not result["bets"]:
        return (f"No bets on {label}: none of the {result['rows']:,} evaluation rows had a line with a price at "
                "the bet snapshot, so there is nothing to say about an edge.")
    cons, best = result["roi"]["consensus"], result["roi"]["best"]
    model_b, market_b = result["calibration"]["brier_model"], result["calibration"]["brier_market"]
    money = f"ROI at the consensus price {_roi(cons)}"
    if cons["ci_low"] > 0:
        money += " (its interval excludes 0: a profit on this sample, to be confirmed out of it)"
    elif cons["ci_high"] < 0:
        money += " (its interval is below 0: the model loses money at the books' prices)"
    else:
        money += " (its interval includes 0: no evidence of an edge)"
    money += f", at the best price {_roi(best)}"
    if best["ci_low"] > 0 >= cons["ci_low"]:
        money += " (above 0 only if every bet gets the best book's price)"
    hits = (f"hit rate {_pct(result['hit_rate'])} against a break-even of {_pct(result['break_even'])} "
            f"over {result['bets']:,} bets on {result['bootstrap']['days']} days")
    if model_b is None or market_b is None:
        calib = "no row has both probabilities to compare calibration"
        market_better = None
    else:
        market_better = market_b <= model_b
        digits = next((d for d in (3, 4, 5) if round(market_b, d) != round(model_b, d)), 5)
        sign = "<" if market_b < model_b else "=" if market_b == model_b else ">"
        calib = f"market Brier {market_b:.{digits}f} {sign} model {model_b:.{digits}f}"
    if cons["ci_low"] > 0 and market_better is False:
        lead = f"The model beats the books on {label} on this sample"
    elif cons["ci_low"] > 0:
        lead = f"A profit on {label} on this sample, but the books' probabilities are better calibrated"
    elif market_better or cons["roi"] <= 0:
        lead = f"The books win on {label}"
    else:
        lead = f"No evidence of an edge on {label}"
    return f"{lead}: {calib}; {money}; {hits}."


def summary_row(result: dict) -> dict:
    """The per-market table row: plain numbers (None where missing), ready for markdown_table."""
    cons, best = result["roi"]["consensus"], result["roi"]["best"]
    return {
        "market": result["market"],
        "rows": result["rows"],
        "bets": result["bets"],
        "hit_rate": result["hit_rate"],
        "break_even": result["break_even"],
        "roi_consensus": cons["roi"],
        "roi_consensus_ci": [cons["ci_low"], cons["ci_high"]],
        "roi_best": best["roi"],
        "roi_best_ci": [best["ci_low"], best["ci_high"]],
        "brier_model": result["calibration"]["brier_model"],
        "brier_market": result["calibration"]["brier_market"],
    }


ROW_COLUMNS = {  # summary_row key -> table header, in table order (extra keys go after "rows")
    "market": "market", "rows": "rows", "bets": "bets", "hit_rate": "hit rate", "break_even": "break-even",
    "roi_consensus": "ROI consensus [95% CI]", "roi_best": "ROI best price [95% CI]",
    "brier_model": "Brier model", "brier_market": "Brier market",
}


def markdown_table(results_by_market: dict) -> str:
    """A Markdown table, one row per market, from evaluate_bets results or summary rows.

    Keys a row has beyond summary_row's (the trainer's MAE and baselines) become columns
    after ``rows``, in the order first seen, formatted as numbers.
    """
    rows = [summary_row(r) if "verdict" in r else dict(r) for r in results_by_market.values()]
    for name, row in zip(results_by_market, rows):
        row.setdefault("market", name)
    known = set(ROW_COLUMNS) | {"roi_consensus_ci", "roi_best_ci"}
    extra = list(dict.fromkeys(k for row in rows for k in row if k not in known))
    keys = ["market", "rows", *extra, *[k for k in ROW_COLUMNS if k not in ("market", "rows")]]
    lines = ["| " + " | ".join(ROW_COLUMNS.get(k, k) for k in keys) + " |",
             "|" + "|".join("---" if k == "market" else "---:" for k in keys) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(k, row) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def _cell(key: str, row: dict) -> str:
    value = row.get(key)
    if key in ("roi_consensus", "roi_best"):
        ci = row.get(f"{key}_ci") or [None, None]
        return _roi({"roi": value, "ci_low": ci[0], "ci_high": ci[1]})
    if key in ("hit_rate", "break_even"):
        return _pct(value)
    if key in ("brier_model", "brier_market"):
        return "—" if value is None else f"{value:.3f}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3f}"
    return str(value)


def _roi(entry: dict) -> str:
    if entry.get("roi") is None:
        return "—"
    text = f"{100 * entry['roi']:+.1f}%"
    if entry.get("ci_low") is not None:
        text += f" [{100 * entry['ci_low']:+.1f}%, {100 * entry['ci_high']:+.1f}%]"
    return text


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


REQUIRED = ("actual", "p_over", "bet_line", "market_over_prob", "game_date")
PRICES = tuple(f"{kind}_{side}_price" for kind in ("consensus", "best") for side in SIDES)


def _require(frame: pd.DataFrame) -> None:
    missing = [c for c in (*REQUIRED, *PRICES) if c not in frame]
    if missing:
        raise ValueError(
            f"the bet evaluation frame lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}. "
            "actual, p_over and game_date come from the evaluation rows, bet_line and the prices from "
            "model.outcomes.bet_offers(rows, market)")


def _col(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=float) if column in frame else np.full(len(frame), np.nan)
