"""Time operators on (irregular) frame times: local polynomial smoothing / derivative and
weak-form test functions."""
from __future__ import annotations

from typing import Tuple

import numpy as np

from pde2gnn.errors import OptionError


def local_polynomial_operators(times: np.ndarray, window: int = 7, order: int = 3
                               ) -> Tuple[np.ndarray, np.ndarray]:
    """Smoothing and derivative matrices S, D ``[T, T]`` of a local polynomial fit.

    Row k of S (D) gives the value (first derivative) at ``times[k]`` of the least-squares
    polynomial of degree ``order`` through the ``window`` frames nearest in index (the window
    is shifted inwards at both ends). On uniform times this is the Savitzky-Golay filter
    (``scipy.signal.savgol_filter(..., mode='interp')``); on irregular times the fit uses the
    actual times. Apply as ``S @ frames`` along the time axis.

    Raises:
        OptionError: window even, not above ``order``, or longer than the series.
    """
    T = len(times)
    window = min(window, T if T % 2 else T - 1)
    if window % 2 == 0 or window <= order:
        raise OptionError(f"derivative window {window} must be odd and larger than the polynomial "
                          f"order {order} (and at most the number of frames, {T})")
    half = window // 2
    S, D = np.zeros((T, T)), np.zeros((T, T))
    for k in range(T):
        a = min(max(k - half, 0), T - window)
        idx = np.arange(a, a + window)
        scale = times[idx].max() - times[idx].min()
        u = (times[idx] - times[k]) / scale                    # centred, scaled: well conditioned
        V = np.vander(u, order + 1, increasing=True)           # [window, order+1]
        P = np.linalg.pinv(V)                                  # coefficients from values
        S[k, idx] = P[0]
        D[k, idx] = P[1] / scale
    return S, D


def weak_form_operators(times: np.ndarray, window: int = 15, power: int = 4
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Test-function matrices W, V ``[K, T]`` of the weak (integral) form of dx/dt = Theta c.

    Each row is a test function phi(t) = ((t - a)(b - t))^power on the span [a, b] of
    ``window`` consecutive frames (K = T - window + 1 of them), times trapezoid weights on the
    actual, possibly irregular, times. Since phi vanishes at a and b, integration by parts
    gives  integral phi dx/dt = -integral phi' x, so  ``V @ x = (W @ Theta) c``  with no
    derivative of the data: ``V = -phi'`` rows, ``W = phi`` rows (weak SINDy, Messenger &
    Bortz, J. Comput. Phys. 2021). Noise in x is averaged over the window instead of
    differentiated.

    Raises:
        OptionError: a window shorter than 3 frames or longer than the series.
    """
    T = len(times)
    if not 3 <= window <= T:
        raise OptionError(f"weak-form window {window} must be between 3 and the number of "
                          f"frames ({T})")
    K = T - window + 1
    W, V = np.zeros((K, T)), np.zeros((K, T))
    for k in range(K):
        idx = np.arange(k, k + window)
        t = times[idx]
        a, b = t[0], t[-1]
        u = (t - a) * (b - t) / ((b - a) / 2) ** 2                       # in [0, 1]
        du = (a + b - 2 * t) / ((b - a) / 2) ** 2
        phi, dphi = u ** power, power * u ** (power - 1) * du
        w = np.zeros(window)                                             # trapezoid weights
        w[:-1] += np.diff(t) / 2
        w[1:] += np.diff(t) / 2
        W[k, idx], V[k, idx] = phi * w, -dphi * w
    return W, V
