"""What the frozen-feature heads and the attribute heads share: the regularisation grid, temperature
scaling, and folding a fitted scaler and temperature into one linear head's weights.

Temperature scaling (Guo et al. 2017) divides logits by one positive number chosen on validation:
it never changes the predicted label, only how sure the head is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The inverse regularisation strengths every logistic head searches on validation.
C_GRID = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """The temperature T minimising the validation log-loss of ``softmax(logits / T)``."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_p = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(gold)), gold].mean())

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def soft_log_loss(p: np.ndarray, fractions: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Log-loss of probabilities ``p`` against soft labels (the share of raters who said yes), averaged with
    ``weights`` (default: every item alike)."""
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(np.average(-(fractions * np.log(p) + (1 - fractions) * np.log(1 - p)), weights=weights))


def fit_binary_temperature(logits: np.ndarray, fractions: np.ndarray) -> float:
    """The temperature minimising the validation log-loss of ``sigmoid(logits / T)`` against rater fractions."""
    from scipy.optimize import minimize_scalar
    from scipy.special import expit

    result = minimize_scalar(
        lambda log_t: soft_log_loss(expit(logits / np.exp(log_t)), fractions),
        bounds=(-3.0, 3.0),
        method="bounded",
    )
    return float(np.exp(result.x))


def folded_weights(
    coef: np.ndarray, intercept: np.ndarray, scaler: Any, temperature: float
) -> tuple[np.ndarray, np.ndarray]:
    """A logistic regression's coefficients (n_classes or 1, n_features) and intercepts on standardised inputs as
    raw-input softmax weights:
    ``((x - mu) / sigma @ W.T + b) / T``. A binary model becomes two rows, (0, z), whose softmax
    equals its sigmoid, so inference needs numpy only."""
    if coef.shape[0] == 1:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    scale = scaler.scale_
    weight = coef / scale / temperature
    bias = (intercept - (coef * (scaler.mean_ / scale)).sum(axis=1)) / temperature
    return weight, bias
