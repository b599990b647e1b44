"""Dynamic optimised Theta (DOTM): the recursion, the search and the prefix fits."""

from __future__ import annotations

import numpy as np
import pytest

from models.theta import AutoOptimisedTheta, OptimisedTheta, OptimisedThetaLog, _errors, _run


def reference_forecast(y, alpha, theta, l0, h):
    """DOTM written out step by step (Fiorucci et al. 2016, statsforecast's state update)."""
    n = len(y)
    level = alpha * y[0] + (1 - alpha) * l0
    mean_y, a, b = y[0], y[0], 0.0
    out = []
    for i in range(1, n + h):
        mu = level + (1 - 1 / theta) * (
            a * (1 - alpha) ** i + b * (1 - (1 - alpha) ** (i + 1)) / alpha
        )
        obs = y[i] if i < n else mu
        if i >= n:
            out.append(mu)
        level = alpha * obs + (1 - alpha) * level
        new_mean = (i * mean_y + obs) / (i + 1)
        b = ((i - 1) * b + 6 * (obs - mean_y) / (i + 1)) / (i + 2)
        mean_y = new_mean
        a = mean_y - b * (i + 2) / 2
    return np.array(out)


def test_dotm_recursion_matches_the_step_by_step_equations():
    y = np.array([10.0, 12, 13, 15, 14, 17, 19, 18, 21, 23])
    _, fc = _run(y, 0.4, 2.7, 9.5, True, 5)
    np.testing.assert_allclose(fc, reference_forecast(y, 0.4, 2.7, 9.5, 5), rtol=1e-12)


def test_one_step_errors_are_affine_in_the_initial_level():
    y = np.array([5.0, 6, 8, 7, 9, 11, 10, 12])
    alpha, theta = np.array([0.3, 0.7]), np.array([1.5, 3.0])
    r, a = _errors(y, alpha, theta, True)
    for k in range(2):
        e, _ = _run(y, alpha[k], theta[k], 4.0, True)
        np.testing.assert_allclose(e, r[:, k] - 4.0 * a[:, k], atol=1e-10)


def test_dotm_follows_a_linear_trend():
    y = 50 + 3.0 * np.arange(20)
    state = OptimisedTheta()._fit_series(y, None)
    mean, sd = OptimisedTheta()._predict_series(state, 4, None)
    # Theta lines damp the slope a little: within a fifth of the trend per step ahead.
    err = np.abs(mean - (50 + 3.0 * np.arange(20, 24)))
    assert np.all(err <= 0.2 * 3.0 * np.arange(1, 5))
    assert np.all(np.diff(sd) >= 0)


def test_fitting_all_prefixes_at_once_equals_fitting_each():
    rng = np.random.default_rng(4)
    y = 100 + np.cumsum(1 + rng.normal(0, 2, 25))
    model = OptimisedTheta()
    together = model._fit_prefixes(y, [10, 15, 25])
    for st in together:
        alone = model._fit_series(y[: len(st["y"])], None)
        assert st["alpha"] == pytest.approx(alone["alpha"])
        assert st["theta"] == pytest.approx(alone["theta"])


def test_dotm_on_logs_refuses_a_non_positive_series():
    with pytest.raises(ValueError, match="positive"):
        OptimisedThetaLog()._fit_series(np.array([1.0, 2, -1, 3, 4]), None)


def test_otm_dotm_takes_the_form_with_the_lower_in_sample_sse():
    rng = np.random.default_rng(7)
    for _ in range(5):
        y = 100 + np.cumsum(rng.normal(1, 3, 18))
        fits = {
            dyn: OptimisedTheta((form,))._fit_series(y, None)
            for dyn, form in ((True, "dynamic"), (False, "static"))
        }
        sse = {dyn: np.sum(_run(y, f["alpha"], f["theta"], f["l0"], dyn)[0] ** 2)
               for dyn, f in fits.items()}  # fmt: skip
        chosen = AutoOptimisedTheta()._fit_series(y, None)
        assert chosen["dynamic"] == min(sse, key=sse.get)
        assert chosen["alpha"] == pytest.approx(fits[chosen["dynamic"]]["alpha"])
