"""The player-points model: train, predict, skew check, charts.

- ``dataset``: the feature matrix in the feature service's order, the label, game dates.
- ``evaluate``: the time split, the baselines and the metrics (MAE, over/under calls).
- ``fingerprint``: a hash of a training set (entity rows and feature values).
- ``residuals``: P(points > line) from the model's out-of-sample residuals.
- ``artifacts``: what a trained model leaves under ``data/models/<name>/``.
- ``train``, ``predict``, ``skew``: the ``nbafs`` commands of the same names.
- ``charts``: PNG charts under ``data/reports/``.
"""
