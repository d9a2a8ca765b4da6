"""Sparse regression on Grams: STLSQ, the threshold grid, cross-validation of the threshold
and the bootstrap spread."""
from __future__ import annotations

import math

import numpy as np

from pde2gnn.errors import DataError
from pde2gnn.discover.gram import Grams


def stlsq(G: np.ndarray, h: np.ndarray, threshold: float, max_iter: int = 25) -> np.ndarray:
    """Sequentially thresholded least squares (Brunton, Proctor & Kutz 2016) from the normal
    equations of *unit-norm* columns and a unit-norm target: solve on the active set, drop the
    coefficients with ``|c| < threshold``, repeat until the set is stable. Returns c ``[K]``."""
    K = len(h)
    active = np.ones(K, bool)
    c = np.zeros(K)
    for _ in range(max_iter):
        c = np.zeros(K)
        if active.any():
            c[active] = np.linalg.lstsq(G[np.ix_(active, active)], h[active], rcond=1e-12)[0]
        keep = active & (np.abs(c) >= threshold)
        if (keep == active).all():
            break
        active = keep
    c[~active] = 0.0
    return c


def _normalise(G, h, yy):
    """Scale to unit-norm columns and target: (Gn, hn, column scales s, target scale)."""
    s = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    sy = math.sqrt(max(yy, 1e-300))
    return G / np.outer(s, s), h / (s * sy), s, sy


def _fit(grams: Grams, threshold: float, weights=None) -> np.ndarray:
    """STLSQ coefficients in the data's units from (weighted) per-trajectory Grams."""
    G, h, yy = grams.total(weights)
    Gn, hn, s, sy = _normalise(G, h, yy)
    return stlsq(Gn, hn, threshold) * sy / s


def _sse(c, G, h, yy) -> float:
    return float(yy - 2 * c @ h + c @ G @ c)


def threshold_grid(grams: Grams, count: int = 40) -> np.ndarray:
    """Candidate thresholds: 0, the midpoints between the sorted normalised least-squares
    coefficient magnitudes (every support on the path), and a log grid 1e-5..1."""
    G, h, yy = grams.total()
    Gn, hn, _, _ = _normalise(G, h, yy)
    mags = np.sort(np.abs(stlsq(Gn, hn, 0.0)))
    mags = mags[mags > 0]
    mids = np.sqrt(mags[1:] * mags[:-1]) if len(mags) > 1 else np.zeros(0)
    return np.unique(np.concatenate([[0.0], mids, np.logspace(-5, 0, count)]))


def cross_validate(grams: Grams, thresholds: np.ndarray, folds: int = 5, seed: int = 0,
                   tolerance: float = 0.1) -> dict:
    """K-fold cross-validation over trajectories of the STLSQ threshold.

    The CV error of a threshold is the held-out relative squared error of dx/dt,
    sum SSE / sum |dx/dt|^2 over a fold's trajectories, averaged over folds. Selection: the
    one-standard-error rule (Hastie, Tibshirani & Friedman, ESL sec. 7.10) with a relative
    ``tolerance``: among the thresholds whose mean CV error is at most
    min + SE(min) + ``tolerance`` * min * (1 - min), take the support with the fewest terms,
    and the threshold in the geometric middle of the range that gives it (so a resample does
    not tip it over). The tolerance (default 0.1: 10 % above a small smallest CV error) covers
    the systematic error of the derivative estimate on noise-free data, which a spurious term
    can fit consistently in every fold (so the standard error alone does not); the factor
    (1 - min) shrinks it when noise leaves little explained (min near 1), so that the empty
    model is not chosen merely because noise dominates dx/dt.

    Returns: {'thresholds', 'cv_mean', 'cv_se', 'terms' (active count per threshold),
    'best', 'chosen', 'chosen_cv'} (lists / floats).

    Raises:
        DataError: fewer than 2 trajectories.
    """
    B = len(grams.yy)
    if B < 2:
        raise DataError("cross-validation over trajectories needs at least 2 fitting "
                        "trajectories (or give a fixed threshold)")
    folds = max(2, min(folds, B))
    assign = np.random.default_rng(seed).permutation(B) % folds
    errs = np.zeros((len(thresholds), folds))
    for f in range(folds):
        train_w = (assign != f).astype(float)
        Gt, ht, yt = grams.total(1.0 - train_w)
        for a, lam in enumerate(thresholds):
            c = _fit(grams, lam, train_w)
            errs[a, f] = _sse(c, Gt, ht, yt) / max(yt, 1e-300)
    supports = [tuple(np.nonzero(_fit(grams, lam))[0]) for lam in thresholds]
    mean, se = errs.mean(1), errs.std(1, ddof=1) / math.sqrt(folds)
    best = int(np.argmin(mean))
    m = mean[best]
    ok = np.nonzero(mean <= m + se[best] + tolerance * m * max(1 - m, 0))[0]
    fewest = min(len(supports[a]) for a in ok)
    pick = min((a for a in ok if len(supports[a]) == fewest), key=lambda a: mean[a])
    same = [thresholds[a] for a in range(len(thresholds))
            if supports[a] == supports[pick] and thresholds[a] > 0]
    chosen = math.sqrt(min(same) * max(same)) if same else float(thresholds[pick])
    return {"thresholds": thresholds.tolist(), "cv_mean": mean.tolist(), "cv_se": se.tolist(),
            "terms": [len(s) for s in supports], "best": float(thresholds[best]),
            "chosen": chosen, "chosen_cv": float(mean[pick]), "tolerance": tolerance}


def bootstrap(grams: Grams, threshold: float, samples: int = 100, seed: int = 0
              ) -> np.ndarray:
    """STLSQ coefficients ``[samples, K]`` refitted on trajectories resampled with replacement."""
    rng = np.random.default_rng(seed)
    B = len(grams.yy)
    out = np.zeros((samples, grams.h.shape[1]))
    for s in range(samples):
        w = np.bincount(rng.integers(0, B, B), minlength=B).astype(float)
        out[s] = _fit(grams, threshold, w)
    return out
