"""What a trained model leaves on disk, and how to read it back.

``data/models/<name>/`` (under NBAFS_DATA_DIR) holds:

- ``model.joblib``        the fitted scikit-learn pipeline (takes a frame with the named
                          feature columns, in any order; it selects them in its own order)
- ``features.json``       the feature list in the order the model was trained on
                          (the feature service ``player_points_v1`` order)
- ``fingerprint.json``    the training-set fingerprint (SHA-256 of entity rows, label
                          and feature values), row count and date range
- ``metrics.json``        evaluation metrics against the baselines (see model/evaluate.py)
- ``residuals.json``      the out-of-sample residual model behind P(over) (model/residuals.py)
- ``eval_predictions.parquet``  every evaluation row: player, game, date, actual, predicted,
                          baselines; what the charts and the real-data bench read
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import joblib
import pandas as pd

from model.residuals import ResidualModel
from nbafs import paths
from nbafs.errors import UserError

DEFAULT_MODEL = "player_points_v1"


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


def load(name: str = DEFAULT_MODEL) -> SavedModel:
    d = model_dir(name)
    if not (d / "model.joblib").exists():
        available = sorted(p.name for p in paths.models_dir().iterdir() if (p / "model.joblib").exists())
        raise UserError(
            f"no trained model {name!r}: {d / 'model.joblib'} does not exist "
            f"(models here: {', '.join(available) or 'none'}). Train one first: "
            f"nbafs train --start YYYY-MM-DD --end YYYY-MM-DD"
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
