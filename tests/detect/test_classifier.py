from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from detect.classifier import CalibratedLogisticDetector
from watermark.errors import ConfigurationError


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(0, 1, (n, 5)) + y[:, None] * np.array([1.0, 0.5, 0.0, 0.0, -0.5])
    return X, y


def test_fits_separates_and_is_calibrated_on_held_out_data() -> None:
    X, y = _data(2000, 0)
    model = CalibratedLogisticDetector(C=1.0).fit(X, y)
    Xt, yt = _data(4000, 1)
    p = model.predict_proba(Xt)[:, 1]
    assert roc_auc_score(yt, p) > 0.8
    for lo, hi in ((0.0, 0.2), (0.4, 0.6), (0.8, 1.0)):  # reliability: observed rate tracks the probability
        sel = (p >= lo) & (p < hi)
        assert sel.sum() > 100
        assert abs(yt[sel].mean() - p[sel].mean()) < 0.05


def test_estimator_conventions_and_json_round_trip() -> None:
    X, y = _data(500, 2)
    model = CalibratedLogisticDetector(C=0.3, folds=4)
    assert clone(model).get_params() == {"C": 0.3, "folds": 4, "random_state": 0}
    assert model.fit(X, y) is model and hasattr(model, "coef_") and hasattr(model, "platt_")
    again, meta = CalibratedLogisticDetector.from_json(model.to_json(features=["a"] * 5))
    assert meta == {"features": ["a"] * 5}
    assert np.allclose(again.predict_proba(X), model.predict_proba(X))
    with pytest.raises(ValueError):
        model.predict_proba(X[:, :3])
    with pytest.raises(ValueError):
        CalibratedLogisticDetector().fit(X, np.zeros(len(X), dtype=np.int64))
    for bad in ("[]", '{"kind": "pickle"}', "nope"):
        with pytest.raises(ConfigurationError):
            CalibratedLogisticDetector.from_json(bad)
