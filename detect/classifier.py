"""A calibrated logistic classifier over zero-shot features and sentence embeddings.

scikit-learn estimator conventions: every parameter is a keyword of ``__init__`` and only stored
there; learned attributes end in ``_``; ``fit`` returns ``self``. The probability is Platt-scaled
on out-of-fold decision values, so it is calibrated on data the linear model did not see. The
fitted model is persisted as plain JSON (coefficients, scaler, Platt parameters): loading a
model file never executes code, unlike pickle.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from watermark.errors import ConfigurationError

__all__ = ["CalibratedLogisticDetector"]

FloatArray = npt.NDArray[np.float64]


class CalibratedLogisticDetector(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Logistic regression on standardised features, Platt-calibrated out of fold.

    Args:
        C: inverse L2 regularisation strength.
        folds: folds for the out-of-fold decision values the Platt scaling is fitted on.
        random_state: seed of the fold split.
    """

    def __init__(self, *, C: float = 1.0, folds: int = 5, random_state: int = 0) -> None:
        self.C = C
        self.folds = folds
        self.random_state = random_state

    def _linear(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, max_iter=2000)

    def fit(self, X: FloatArray, y: npt.NDArray[np.int64]) -> CalibratedLogisticDetector:
        """Fit on features ``X`` ``(n, d)`` and labels ``y`` (1 = machine-written)."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if X.ndim != 2 or len(X) != len(y) or set(np.unique(y)) != {0, 1}:
            raise ValueError("X must be (n, d) and y must hold both labels 0 and 1, one per row")
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0) + 1e-9
        Z = (X - self.mean_) / self.scale_
        oof = np.empty(len(y))
        for train, test in StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state).split(Z, y):
            oof[test] = self._linear().fit(Z[train], y[train]).decision_function(Z[test])
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(oof[:, None], y)
        self.platt_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        final = self._linear().fit(Z, y)
        self.coef_ = final.coef_[0].astype(np.float64)
        self.intercept_ = float(final.intercept_[0])
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: FloatArray) -> FloatArray:
        """Uncalibrated linear score (higher = more machine-like)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.coef_):
            raise ValueError(f"expected (n, {len(self.coef_)}) features, got {X.shape}")
        return np.asarray(((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_, dtype=np.float64)

    def predict_proba(self, X: FloatArray) -> FloatArray:
        """Calibrated ``(n, 2)`` probabilities of (human, machine)."""
        a, b = self.platt_
        p = 1.0 / (1.0 + np.exp(-(a * self.decision_function(X) + b)))
        return np.stack([1 - p, p], axis=1)

    def predict(self, X: FloatArray) -> npt.NDArray[np.int64]:
        """1 where the calibrated probability of machine origin exceeds 0.5."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)

    def to_json(self, **metadata: Any) -> str:
        """The fitted model as JSON (with free-form ``metadata`` such as feature names)."""
        return json.dumps(
            {
                "kind": "assay.calibrated-logistic.v1",
                "params": self.get_params(),
                "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist(),
                "coef": self.coef_.tolist(),
                "intercept": self.intercept_,
                "platt": list(self.platt_),
                "metadata": metadata,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> tuple[CalibratedLogisticDetector, dict[str, Any]]:
        """Load a model written by :meth:`to_json`; returns it and its metadata.

        Raises:
            ConfigurationError: not a valid model file.
        """
        try:
            raw = json.loads(text)
            if raw.get("kind") != "assay.calibrated-logistic.v1":
                raise ValueError("unknown model kind")
            model = cls(**raw["params"])
            model.mean_ = np.asarray(raw["mean"], dtype=np.float64)
            model.scale_ = np.asarray(raw["scale"], dtype=np.float64)
            model.coef_ = np.asarray(raw["coef"], dtype=np.float64)
            model.intercept_ = float(raw["intercept"])
            a, b = raw["platt"]
            model.platt_ = (float(a), float(b))
            model.classes_ = np.array([0, 1])
            model.n_features_in_ = len(model.coef_)
            if not (len(model.mean_) == len(model.scale_) == len(model.coef_)):
                raise ValueError("inconsistent dimensions")
            return model, dict(raw.get("metadata", {}))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(f"not a valid classifier file: {exc}") from None
