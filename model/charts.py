"""PNG charts under ``data/reports/``: what people would rather look at than read.

- ``predicted_vs_actual.png``: the model's predicted points against what happened, on
  the evaluation dates (grey density) and, when given, a predicted slate (dots).
- ``feature_importance.png``: permutation importance on the evaluation rows (how much
  the MAE grows when one feature is shuffled), features in the service's order.
- ``usage_spike_score.png``: ``usage_spike_score`` game by game over the season for a
  few high-usage players, with 1.0 (steady usage) marked.
- ``reliability.png``: calibration of P(over), one panel per market: the model's and the
  market's no-vig probability binned, observed over rate against mean predicted, the
  diagonal for perfect calibration, and the rows per bin (model/betting.py).
- ``consistency_<start>_<end>.png``: served vs replayed feature values
  (``nbafs consistency``), the share of mismatching rows per feature and day.

Matplotlib with the non-interactive Agg backend: no display needed.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nbafs import paths  # noqa: E402

DPI = 110


def predicted_vs_actual(eval_rows: pd.DataFrame, slate: pd.DataFrame | None = None,
                        title: str = "Predicted vs actual points", out: Path | None = None) -> Path:
    """``eval_rows`` and ``slate`` have columns ``predicted`` and ``actual``."""
    out = out or paths.reports_dir() / "predicted_vs_actual.png"
    fig, ax = plt.subplots(figsize=(7, 6.5))
    values = [np.nanpercentile(eval_rows["actual"], 99.9), np.nanmax(eval_rows["predicted"])]
    if slate is not None and len(slate):
        values += [np.nanmax(slate["actual"]), np.nanmax(slate["predicted"])]
    top = max(10.0, float(np.ceil(max(values) / 5) * 5 + 2))
    mae_eval = float(np.mean(np.abs(eval_rows["actual"] - eval_rows["predicted"])))
    hb = ax.hexbin(eval_rows["predicted"], eval_rows["actual"], gridsize=35, extent=(0, top, 0, top),
                   cmap="Greys", mincnt=1, bins="log")
    fig.colorbar(hb, ax=ax, label=f"evaluation player-games (log count); MAE {mae_eval:.2f}")
    if slate is not None and len(slate):
        s = slate.dropna(subset=["actual"])
        mae_slate = float(np.mean(np.abs(s["actual"] - s["predicted"])))
        ax.scatter(s["predicted"], s["actual"], s=18, color="tab:orange", edgecolor="black", linewidth=0.3,
                   label=f"predicted slate ({len(s)} players, MAE {mae_slate:.2f})", zorder=3)
    ax.plot([0, top], [0, top], color="tab:blue", linewidth=1.2, label="perfect prediction")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("predicted points")
    ax.set_ylabel("actual points")
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return _save(fig, out)


def feature_importance(importance: dict, title: str = "Permutation importance on the evaluation dates",
                       out: Path | None = None) -> Path:
    """``importance``: {feature: {"mae_increase": x, "std": s}} in the service's order."""
    out = out or paths.reports_dir() / "feature_importance.png"
    names = list(importance)
    means = np.array([importance[n]["mae_increase"] for n in names])
    stds = np.array([importance[n]["std"] for n in names])
    order = np.argsort(means)
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(names) + 1.4))
    ax.barh([f"[{i}] {names[i]}" for i in order], means[order], xerr=stds[order],
            color=["tab:blue" if m > 0 else "tab:gray" for m in means[order]])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("increase in MAE (points) when the feature is shuffled")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, out)


def usage_spike_over_season(factors: pd.DataFrame, players: list[str] | None = None, n_players: int = 4,
                            out: Path | None = None) -> Path:
    """``factors``: rows of nba_precompute.player_composite_factors (player_lookup,
    game_date, usage_spike_score, season_usage_rate). Without ``players``, the
    ``n_players`` with the highest latest season usage among regulars are drawn."""
    out = out or paths.reports_dir() / "usage_spike_score.png"
    f = factors.dropna(subset=["usage_spike_score"]).copy()
    f["game_date"] = pd.to_datetime(f["game_date"])
    if players is None:
        players = pick_players(f, n_players)
    fig, ax = plt.subplots(figsize=(10, 5))
    for p in players:
        rows = f[f["player_lookup"] == p].sort_values("game_date")
        ax.plot(rows["game_date"], rows["usage_spike_score"], marker=".", markersize=4, linewidth=1.2, label=p)
    ax.axhline(1.0, color="black", linewidth=0.9, linestyle="--", label="1.0 = steady usage")
    ax.set_ylabel("usage_spike_score (last-7 usage / season usage)")
    ax.set_title("usage_spike_score over the season")
    ax.legend(loc="best", fontsize=9, ncol=2)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _save(fig, out)


def pick_players(factors: pd.DataFrame, n: int) -> list[str]:
    """High-usage regulars: most games with a score, then the highest latest season usage."""
    counts = factors.groupby("player_lookup")["usage_spike_score"].count()
    regulars = counts[counts >= counts.quantile(0.75)].index
    latest = (factors[factors["player_lookup"].isin(regulars)].sort_values("game_date")
              .groupby("player_lookup")["season_usage_rate"].last().sort_values(ascending=False))
    return list(latest.index[:n])


def consistency(shares: pd.DataFrame, counts: pd.DataFrame, title: str, out: Path) -> Path:
    """``shares``/``counts``: mismatch share and count, one row per feature, one column per day."""
    days, features = list(shares.columns), list(shares.index)
    fig, ax = plt.subplots(figsize=(min(16, 6.5 + 0.6 * len(days)), 1.6 + 0.32 * len(features)))
    values = shares.to_numpy(dtype=float)
    image = ax.imshow(values, aspect="auto", cmap="Reds", vmin=0, vmax=max(0.01, float(np.nanmax(values, initial=0))))
    fig.colorbar(image, ax=ax, label="share of rows that differ")
    ax.set_xticks(range(len(days)), [str(d) for d in days], rotation=45, ha="right")
    ax.set_yticks(range(len(features)), features)
    if len(days) <= 20:
        for i in range(len(features)):
            for j in range(len(days)):
                n = counts.iat[i, j]
                ax.text(j, i, f"{int(n)}", ha="center", va="center", fontsize=7, color="black" if n == 0 else "white")
    ax.set_title(title)
    return _save(fig, out)


def reliability_chart(frames_by_market: dict[str, pd.DataFrame], path: Path | None = None) -> Path:
    """``frames_by_market``: {market label: evaluation frame with actual, bet_line, p_over, market_over_prob}."""
    from model import betting

    out = path or paths.reports_dir() / "reliability.png"
    n = max(1, len(frames_by_market))
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.6), squeeze=False)
    for ax, (label, frame) in zip(axes[0], frames_by_market.items()):
        rows = betting.calibration_rows(frame)
        ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle="--", label="perfect calibration")
        counts = ax.twinx()
        width = 1 / betting.BINS
        who = (("model", "p_over", "tab:blue", 0.25), ("market", "market_over_prob", "tab:orange", 0.75))
        bins = {name: betting.reliability(rows[column], rows["over"]) for name, column, _, _ in who}
        for name, column, color, place in who:
            full = [b for b in bins[name] if b["count"]]
            brier = betting.brier(rows[column], rows["over"])
            ax.plot([b["mean_predicted"] for b in full], [b["observed_rate"] for b in full], marker="o", color=color,
                    label=f"{name} (Brier {brier:.3f})" if brier is not None else name, clip_on=False)
            counts.bar([b["lo"] + width * place for b in bins[name]], [b["count"] for b in bins[name]],
                       width=width / 2, color=color, alpha=0.25)
        top = max([1] + [b["count"] for per in bins.values() for b in per])
        counts.set_ylim(0, 4 * top)  # the count bars fill the lowest quarter
        ax.set_zorder(counts.get_zorder() + 1)  # the curves over the bars
        ax.patch.set_visible(False)
        counts.set_ylabel("rows per bin (bars)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("predicted P(over)")
        ax.set_ylabel("observed over rate")
        ax.set_title(f"{label}: {len(rows):,} rows (pushes excluded)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle("Calibration of P(over) at the bet snapshot: model vs the books' no-vig probability")
    return _save(fig, out)


def _save(fig, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out
