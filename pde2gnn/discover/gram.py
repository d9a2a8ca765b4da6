"""Features: candidate terms evaluated with the compiled vector fields, reduced to
per-trajectory normal equations (Grams)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from pde2gnn.errors import DataError
from pde2gnn.discover.library import Library, _is_number
from pde2gnn.discover.operators import local_polynomial_operators, weak_form_operators


@contextmanager
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


class TermEvaluator:
    """Evaluates every candidate term of a library on states of one graph with the compiled
    vector fields (one compile per term and state width, one evaluation per term per call).

    Args:
        library: the candidates. edge_index: ``[2, E]``. num_nodes: N. pos: ``[N, D]`` if the
        library declares a domain. params: overrides of the library's params.

    Raises:
        DataError: the library needs coordinates the data lacks.
    """

    def __init__(self, library: Library, edge_index: np.ndarray, num_nodes: int,
                 pos: Optional[np.ndarray] = None, params: Optional[Dict[str, float]] = None):
        if library.domain is not None and pos is None:
            raise DataError(f"library '{library.name}' declares domain '{library.domain}' "
                            "(geometric operators) but the data has no node coordinates 'pos'")
        self.library = library
        self.edge_index = torch.as_tensor(edge_index)
        self.num_nodes = num_nodes
        self.inputs = {library.domain: torch.tensor(pos)} if library.domain else {}
        self.params = dict(params or {})
        self._fields: Dict[Tuple[int, int], object] = {}

    def _field(self, k: int, width: int):
        from pde2gnn.compiler.pipeline import compile as compile_spec
        key = (k, width)
        if key not in self._fields:
            chan = self.library.channels
            dims = {chan: width} if chan else {}
            self._fields[key] = compile_spec(self.library.term_spec(k), self.edge_index,
                                             self.num_nodes, dims, self.params, self.inputs)
        return self._fields[key]

    def __call__(self, states: np.ndarray) -> np.ndarray:
        """states ``[S, N]`` (S states, e.g. all frames of some trajectories) -> features
        ``[S, N, K]``, float64."""
        S, N = states.shape
        out = np.empty((S, N, len(self.library.terms)))
        with _float64(), torch.no_grad():
            for k, term in enumerate(self.library.terms):
                if _is_number(term):
                    out[:, :, k] = float(term)
                    continue
                if self.library.channels:
                    y = torch.tensor(states.T)                          # [N, S]: one CSR product
                    vf = self._field(k, S)
                    vf.prepare(y)
                    out[:, :, k] = vf(torch.zeros(()), y).numpy().T
                else:
                    y = torch.tensor(states[:, :, None])                # [S, N, 1]
                    vf = self._field(k, 1)
                    vf.prepare(y)
                    out[:, :, k] = vf(torch.zeros(()), y)[..., 0].numpy()
        return out


@dataclass
class Grams:
    """Per-trajectory normal equations: ``G [B, K, K]`` (X_b^T X_b), ``h [B, K]`` (X_b^T y_b),
    ``yy [B]`` (y_b^T y_b)."""

    G: np.ndarray
    h: np.ndarray
    yy: np.ndarray

    def total(self, weights: Optional[np.ndarray] = None):
        """(G, h, yy) summed over trajectories, weighted by ``weights [B]`` (counts)."""
        w = np.ones(len(self.yy)) if weights is None else weights
        return (np.tensordot(w, self.G, 1), w @ self.h, float(w @ self.yy))


def trajectory_gram(evaluator: TermEvaluator, frames: np.ndarray, times: np.ndarray,
                    window: int, order: int, weak_window: int = 0,
                    chunk_values: int = 20_000_000) -> Grams:
    """Normal equations of dx/dt ~ Theta(x~) c per trajectory.

    ``frames [B, T, N]``; features Theta on the smoothed states x~ = ``S @ x``
    (:func:`local_polynomial_operators`). Targets: the derivative ``D @ x``, or with
    ``weak_window`` > 0 the weak form ``V @ x`` against ``W @ Theta``
    (:func:`weak_form_operators`). Evaluated for as many trajectories at a time as keep the
    feature block under ``chunk_values`` numbers (160 MB).

    Raises:
        DataError: a candidate term is not finite on the data (e.g. a pole of 1/(1 + x)).
    """
    S, D = local_polynomial_operators(times, window, order)
    Wt = np.eye(len(times))
    if weak_window:
        Wt, D = weak_form_operators(times, weak_window)
    B, T, N = frames.shape
    K = len(evaluator.library.terms)
    G, h, yy = np.zeros((B, K, K)), np.zeros((B, K)), np.zeros(B)
    per = max(1, chunk_values // (T * N * K))
    for a in range(0, B, per):
        x = frames[a:a + per]                                               # [b, T, N]
        smooth = np.einsum("st,btn->bsn", S, x)
        target = np.einsum("st,btn->bsn", D, x)
        theta = np.einsum("st,btnk->bsnk", Wt,
                          evaluator(smooth.reshape(-1, N)).reshape(len(x), T, N, K))
        if not np.isfinite(theta).all():
            bad = [evaluator.library.terms[k] for k in range(K)
                   if not np.isfinite(theta[..., k]).all()]
            raise DataError(f"candidate term(s) {', '.join(bad)} are not finite on the data "
                            "(a pole or overflow): remove them from the library")
        G[a:a + per] = np.einsum("btnk,btnl->bkl", theta, theta)
        h[a:a + per] = np.einsum("btnk,btn->bk", theta, target)
        yy[a:a + per] = np.einsum("btn,btn->b", target, target)
    return Grams(G, h, yy)
