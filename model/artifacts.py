"""What a trained model leaves on disk, and how to read it back.

``data/models/<name>/`` (under NBAFS_DATA_DIR; one per market, named after its feature
service: ``player_points_v1``, ``player_rebounds_v1``...; ``<service>_without_<group>``
for a model trained without a feature group) holds:

- ``model.joblib``        the fitted scikit-learn pipeline (takes a frame with the named
                          feature columns, in any order; it selects them in its own order)
- ``features.json``       the feature list in the order the model was trained on (its
                          service's order less the line features, model/dataset.py)
- ``fingerprint.json``    the training-set fingerprint (SHA-256 of entity rows, label
                          and feature values), row count and date range
- ``metrics.json``        evaluation metrics against the baselines (model/evaluate.py) and
                          the bettor's evaluation under "betting" (model/betting.py)
- ``residuals.json``      the out-of-sample residual model behind P(over) (model/residuals.py)
- ``eval_predictions.parquet``  every evaluation row: player, game, date, actual, predicted,
                          baselines, the bet offer (model/outcomes.bet_offers) and ``p_over``
                          at its line; what the charts and the real-data bench read
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from typing import Iterable

import joblib
import pandas as pd

from model.residuals import ResidualModel
from nbafs import paths
from nbafs.errors import UserError
from warehouse.markets import MARKETS, Market

DEFAULT_MODEL = "player_points_v1"


def model_name(market: Market, drop: Iterable[str] = ()) -> str:
    """A market's model name: its service (``player_rebounds_v1``), ``_without_<group>`` per group left out."""
    return market.service + "".join(f"_without_{g}" for g in drop)


def model_dir(name: str = DEFAULT_MODEL) -> Path:
    return paths.models_dir() / name


@dataclass
class SavedModel:
    name: str
    directory: Path
    pipeline: object
    features: list[str]
    fingerprint: dict
    metrics: dict
    residuals: ResidualModel


def save(name: str, pipeline, features, fingerprint: dict, metrics: dict,
         residuals: ResidualModel, eval_predictions: pd.DataFrame) -> Path:
    d = model_dir(name)
    d.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, d / "model.joblib")
    _write_json(d / "features.json", list(features))
    _write_json(d / "fingerprint.json", fingerprint)
    _write_json(d / "metrics.json", metrics)
    _write_json(d / "residuals.json", residuals.to_json())
    eval_predictions.to_parquet(d / "eval_predictions.parquet", index=False)
    return d


def write_metrics(name: str, metrics: dict) -> None:
    """Rewrite a saved model's metrics.json (e.g. with a chart drawn after all markets trained)."""
    _write_json(model_dir(name) / "metrics.json", metrics)


def exists(name: str = DEFAULT_MODEL) -> bool:
    return (model_dir(name) / "model.joblib").exists()


def load(name: str = DEFAULT_MODEL) -> SavedModel:
    d = model_dir(name)
    if not (d / "model.joblib").exists():
        root = paths.models_dir()
        available = sorted(p.name for p in root.iterdir() if (p / "model.joblib").exists()) if root.exists() else []
        market = next((m.name for m in MARKETS if m.service == name), None)
        raise UserError(
            f"no trained model {name!r}: {d / 'model.joblib'} does not exist "
            f"(models here: {', '.join(available) or 'none'}). Train one first: "
            f"nbafs train --start YYYY-MM-DD --end YYYY-MM-DD" + (f" --market {market}" if market else "")
        )
    return SavedModel(
        name=name,
        directory=d,
        pipeline=joblib.load(d / "model.joblib"),
        features=json.loads((d / "features.json").read_text()),
        fingerprint=json.loads((d / "fingerprint.json").read_text()),
        metrics=json.loads((d / "metrics.json").read_text()),
        residuals=ResidualModel.from_json(json.loads((d / "residuals.json").read_text())),
    )


def eval_predictions(name: str = DEFAULT_MODEL) -> pd.DataFrame:
    return pd.read_parquet(model_dir(name) / "eval_predictions.parquet")


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)
