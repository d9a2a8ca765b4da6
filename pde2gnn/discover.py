"""Equation discovery: recover a spec ``dt(x) = sum_k c_k theta_k(x)`` from trajectories.

Sparse regression of SINDy (Brunton, Proctor & Kutz, PNAS 2016) on a graph, in the form of Gao &
Yan (Nature Computational Science 2022): dx_i/dt = F(x_i) + sum_j A_ij G(x_i, x_j), with F and G
linear combinations of candidate terms. The candidate terms are written in the language: the
additive terms of the ``dt`` equation of a *library spec* (:data:`DEFAULT_LIBRARY` when none is
given), each compiled by the pde2gnn pipeline into its own vector field and evaluated once per
frame, so a term means exactly what it means in a spec (``lap`` of a ``domain`` is the geometric
Laplacian, ``sum_j`` runs over the data's graph).

Steps (:func:`discover`):

1. Time derivatives and smoothed states by local polynomial least squares over a sliding window
   of frames (Savitzky & Golay 1964, generalised to irregular frame times; equal to
   ``scipy.signal.savgol_filter`` on uniform times): :func:`local_polynomial_operators`.
2. Features theta_k(x~) on the smoothed states x~ ``[B, T, N]``, reduced per trajectory to the
   normal equations G_b = X_b^T X_b, h_b = X_b^T y_b (:func:`trajectory_gram`), so every fit,
   fold and bootstrap sample below is a sum of per-trajectory Grams (no [B T N, K] matrix is
   kept).
3. Sequentially thresholded least squares (STLSQ, Brunton et al. 2016) on unit-norm columns,
   the threshold chosen by K-fold cross-validation over trajectories with the one-standard-error
   rule (the sparsest model whose CV error is within one standard error of the minimum;
   Hastie, Tibshirani & Friedman, ESL sec. 7.10): :func:`cross_validate`.
4. Coefficient spread by a bootstrap over trajectories (STLSQ refitted at the chosen
   threshold on resampled trajectories): :func:`bootstrap`.
5. The found equation as a spec (:func:`found_spec`), and a validation that simulates it from
   held-out initial states (:func:`validate`).
"""
from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .errors import DataError, FormError, OptionError

DEFAULT_LIBRARY = """\
# Default candidate terms of `pde2gnn discover`: polynomials of x_i up to degree 3 (F) and
# couplings sum_j A_ij G(x_i, x_j) with linear, bilinear and saturating G (Gao & Yan 2022).
model candidates
field x : node[d]
dt(x) = (1 + x + x^2 + x^3
         + sum_j(x_j) + lap(x) + sum_j(x_i*x_j)
         + sum_j(x_j/(1 + x_j)) + sum_j(x_j^2/(1 + x_j^2)) + sum_j(x_i*x_j/(1 + x_i + x_j)))
"""


# ----------------------------------------------------------------------------------------------
# data


@dataclass
class Trajectories:
    """Observed trajectories on one graph (the ``pde2gnn simulate`` .npz layout).

    Attributes:
        frames: ``[B, T, N]`` float64, B trajectories of T frames at N nodes.
        times: ``[T]`` strictly increasing frame times.
        edge_index: ``[2, E]`` int64 graph, torch_geometric convention (row 1 is the receiver i).
        pos: ``[N, D]`` node coordinates, or None.
        train, val, test: trajectory indices of the split (``test`` is held out of the fit).
        source: where they came from (for messages).
    """

    frames: np.ndarray
    times: np.ndarray
    edge_index: np.ndarray
    pos: Optional[np.ndarray] = None
    train: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    val: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    test: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    source: str = "<data>"

    def __post_init__(self):
        where = self.source
        f = np.asarray(self.frames, dtype=np.float64)
        if f.ndim == 2:
            f = f[None]
        if f.ndim != 3:
            raise DataError(f"{where}: frames must have shape [B, T, N] (trajectories, frames, "
                            f"nodes), got {list(np.shape(self.frames))}")
        B, T, N = f.shape
        t = np.asarray(self.times, dtype=np.float64).reshape(-1)
        if T < 2:
            raise DataError(f"{where}: need at least 2 frames to estimate time derivatives, got "
                            f"{T}")
        if t.shape != (T,):
            raise DataError(f"{where}: times has {t.size} entries but frames have {T} frames")
        if not np.isfinite(t).all():
            raise DataError(f"{where}: times contain NaN or inf")
        bad = np.nonzero(np.diff(t) <= 0)[0]
        if bad.size:
            k = int(bad[0])
            raise DataError(f"{where}: times must be strictly increasing, but times[{k + 1}] = "
                            f"{t[k + 1]:g} <= times[{k}] = {t[k]:g}")
        finite = np.isfinite(f)
        if not finite.all():
            b, k, n = (int(v[0]) for v in np.nonzero(~finite))
            count = int((~finite.all(axis=2)).sum())
            raise DataError(f"{where}: frames contain NaN or inf ({count} frame(s), first: "
                            f"trajectory {b}, frame {k}, node {n}); discovery needs complete "
                            "frames: drop or fill those frames first")
        ei = np.asarray(self.edge_index)
        if ei.ndim != 2 or ei.shape[0] != 2 or not np.issubdtype(ei.dtype, np.integer):
            raise DataError(f"{where}: edge_index must be an integer array [2, E], got "
                            f"{ei.dtype} {list(ei.shape)}")
        if ei.size and (ei.min() < 0 or ei.max() >= N):
            raise DataError(f"{where}: edge_index refers to node {int(ei.max())} but frames have "
                            f"{N} nodes")
        if self.pos is not None:
            p = np.asarray(self.pos, dtype=np.float64)
            if p.ndim != 2 or p.shape[0] != N:
                raise DataError(f"{where}: pos must have shape [{N}, D], got {list(p.shape)}")
            self.pos = p
        self.frames, self.times, self.edge_index = f, t, ei.astype(np.int64)
        for name in ("train", "val", "test"):
            idx = np.asarray(getattr(self, name), dtype=np.int64).reshape(-1)
            if idx.size and (idx.min() < 0 or idx.max() >= B):
                raise DataError(f"{where}: split '{name}' refers to trajectory {int(idx.max())} "
                                f"but there are {B}")
            setattr(self, name, idx)

    @property
    def shape(self) -> Tuple[int, int, int]:
        return self.frames.shape

    def fit_indices(self) -> np.ndarray:
        """Trajectories used for fitting: train + val, or all but ``test`` without a split."""
        idx = np.concatenate([self.train, self.val])
        if idx.size == 0:
            idx = np.setdiff1d(np.arange(self.shape[0]), self.test)
        return np.sort(idx)

    def with_noise(self, level: float, seed: int = 0) -> "Trajectories":
        """A copy with i.i.d. Gaussian observation noise of standard deviation ``level`` times
        the standard deviation of all frames (``level = 0.05``: 5 % noise)."""
        if level < 0:
            raise OptionError(f"noise level must be >= 0, got {level}")
        rng = np.random.default_rng(seed)
        noisy = self.frames + level * self.frames.std() * rng.standard_normal(self.frames.shape)
        return Trajectories(noisy, self.times, self.edge_index, self.pos, self.train, self.val,
                            self.test, f"{self.source} + {100 * level:g} % noise")


def load_trajectories(path) -> Trajectories:
    """Read a ``pde2gnn simulate`` .npz file (``frames [B, T, N]``, ``times``, ``edge_index``,
    optional ``pos``, ``train`` / ``val`` / ``test``; layout in :mod:`pde2gnn.simulate`).

    Raises:
        DataError: a missing file or key, wrong shapes, NaN / inf frames, fewer than two frames,
            times that do not increase.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file (expected a `pde2gnn simulate` .npz)")
    try:
        z = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"{p}: not a readable .npz file ({e})") from None
    missing = [k for k in ("frames", "times", "edge_index") if k not in z.files]
    if missing:
        raise DataError(f"{p}: missing {', '.join(missing)} (has {', '.join(z.files)}); "
                        "expected the `pde2gnn simulate` layout")
    get = (lambda k: z[k] if k in z.files else None)
    return Trajectories(z["frames"], z["times"], z["edge_index"], get("pos"),
                        *(get(k) if k in z.files else np.zeros(0, int)
                          for k in ("train", "val", "test")), source=str(p))


# ----------------------------------------------------------------------------------------------
# candidate library


@dataclass(frozen=True)
class Library:
    """Candidate terms: the additive terms of a library spec's ``dt`` equation.

    Attributes:
        name: the library's model name.
        field: the evolving field's name.
        header: the spec's source without its ``dt`` equation (declarations, lets, domain).
        terms: source text of each candidate term, signs dropped (``lap(x)``, ``x^3``, ...).
        channels: the field's symbolic channel dimension (``d`` of ``node[d]``: states are
            batched as channels), or None for a one-channel field (batched on a leading axis).
        domain: name of the coordinates input if the library declares a ``domain``.
    """

    name: str
    field: str
    header: str
    terms: Tuple[str, ...]
    channels: Optional[str]
    domain: Optional[str] = None

    def term_spec(self, k: int) -> str:
        """A spec whose vector field is candidate term k alone."""
        return f"{self.header}\ndt({self.field}) = {self.terms[k]}\n"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def load_library(spec: Optional[str] = None) -> Library:
    """Candidate library from a library name, ``.pde`` path or spec text (None: the default).

    Raises:
        SpecError: the spec does not parse or check.
        FormError: it has no single field with one ``dt`` equation, or a term repeats.
    """
    from .check import check
    from .compiler import load
    from .lang import ast as A

    parsed = load(DEFAULT_LIBRARY if spec is None else spec)
    checked = check(parsed)
    src, fname = parsed.source, parsed.filename
    eqs = [s for s in parsed.statements if isinstance(s, A.Equation)]
    if checked.discrete or len(checked.fields) != 1 or len(eqs) != 1:
        raise FormError(f"a candidate library needs one field with one dt(...) equation whose "
                        f"terms are the candidates; '{checked.name}' has "
                        f"{len(checked.fields)} field(s) and {len(eqs)} dt equation(s)",
                        None, src, fname)
    eq = eqs[0]
    lines = src.splitlines()
    offsets = np.cumsum([0] + [len(l) + 1 for l in lines])

    def text(span) -> str:
        a = offsets[span.line - 1] + span.column - 1
        b = offsets[span.end_line - 1] + span.end_column - 1
        return src[a:b]

    def wrapped(e) -> bool:  # written in parentheses: one term, not split
        t = text(e.span)
        a = offsets[e.span.line - 1] + e.span.column - 1
        b = a + len(t)
        return src[:a].rstrip().endswith("(") and src[b:].lstrip().startswith(")")

    terms: List[str] = []

    def split(e, top=False):  # a bracketed sum is one term, except the whole right-hand side
        if isinstance(e, A.BinOp) and e.op in "+-" and (top or not wrapped(e)):
            split(e.left)
            split(e.right)
        elif isinstance(e, A.Neg):
            split(e.operand)
        else:
            t = " ".join(text(e.span).split())
            if wrapped(e) and isinstance(e, A.BinOp) and e.op in "+-":
                t = f"({t})"
            if t in terms:
                raise FormError(f"candidate term '{t}' appears twice", e.span, src, fname)
            terms.append(t)

    split(eq.rhs, top=True)
    keep = [l for k, l in enumerate(lines, 1) if not (eq.span.line <= k <= eq.span.end_line)]
    field_name, ftype = next(iter(checked.fields.items()))
    chan = ftype.channels
    if not isinstance(chan, str) and chan != 1:
        raise FormError(f"the library's field '{field_name}' has {chan} channels; discovery "
                        "fits one value per node: declare it node[d] or node", eq.field_span,
                        src, fname)
    return Library(checked.name, field_name, "\n".join(keep).rstrip(), tuple(terms),
                   chan if isinstance(chan, str) else None,
                   checked.domain.name if checked.domain is not None else None)


# ----------------------------------------------------------------------------------------------
# time derivatives


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


# ----------------------------------------------------------------------------------------------
# features


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
        from .compiler import compile as compile_spec
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


# ----------------------------------------------------------------------------------------------
# sparse regression


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


# ----------------------------------------------------------------------------------------------
# discovery


@dataclass
class DiscoveryConfig:
    """Options of :func:`discover`.

    Attributes:
        window, order: frames and polynomial degree of the local fit for dx/dt and the
            smoothed states (odd window).
        weak_window: > 0: fit the weak (integral) form on test functions spanning this many
            frames instead of dx/dt (:func:`weak_form_operators`).
        folds: cross-validation folds over trajectories. bootstrap: resamples for the spread.
        threshold: fix the STLSQ threshold (normalised units) instead of cross-validating.
        tolerance: relative CV tolerance of the selection (:func:`cross_validate`).
        max_trajectories: fit on at most this many of the fitting trajectories (0: all).
        params: overrides of the library's params. seed: folds and bootstrap.
    """

    window: int = 7
    order: int = 3
    weak_window: int = 0
    folds: int = 5
    bootstrap: int = 100
    threshold: Optional[float] = None
    tolerance: float = 0.1
    max_trajectories: int = 0
    params: Dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self):
        bad = [f"{k} = {v}" for k, v, ok in (
            ("order", self.order, self.order >= 1), ("folds", self.folds, self.folds >= 2),
            ("bootstrap", self.bootstrap, self.bootstrap >= 0),
            ("tolerance", self.tolerance, self.tolerance >= 0),
            ("weak_window", self.weak_window, self.weak_window >= 0),
            ("max_trajectories", self.max_trajectories, self.max_trajectories >= 0),
            ("threshold", self.threshold, self.threshold is None or self.threshold >= 0))
            if not ok]
        if bad:
            raise OptionError(f"invalid discovery option(s): {', '.join(bad)} (need order >= 1, "
                              "folds >= 2, the others >= 0)")


@dataclass
class Discovery:
    """Result of :func:`discover`.

    Attributes:
        library: the candidates. coefficients: ``[K]`` (0 for dropped terms), in the data's
        time units. std: bootstrap standard deviation ``[K]``. inclusion: fraction of bootstrap
        fits keeping each term ``[K]``. threshold: the STLSQ threshold used. cv: the
        cross-validation table (:func:`cross_validate`). residual: relative squared error of
        dx/dt on the fitting data. seconds: wall time (features, regression, total).
    """

    library: Library
    coefficients: np.ndarray
    std: np.ndarray
    inclusion: np.ndarray
    threshold: float
    cv: Optional[dict]
    residual: float
    fit_trajectories: List[int]
    seconds: Dict[str, float]
    config: DiscoveryConfig

    @property
    def active(self) -> List[int]:
        return [k for k, c in enumerate(self.coefficients) if c != 0]

    def equation(self, digits: int = 4) -> str:
        """The found right-hand side, e.g. ``0.9998*lap(x) - 1.001*x^3`` (``0`` if empty)."""
        out = ""
        for k in self.active:
            c, t = self.coefficients[k], self.library.terms[k]
            mag = f"{abs(c):.{digits}g}"
            body = mag if _is_number(t) and float(t) == 1 else f"{mag}*{t}"
            out += (" - " if c < 0 else " + ") + body if out else ("-" if c < 0 else "") + body
        return out or "0"

    def to_dict(self) -> dict:
        terms = [{"term": t, "coefficient": float(self.coefficients[k]),
                  "bootstrap_std": float(self.std[k]), "inclusion": float(self.inclusion[k])}
                 for k, t in enumerate(self.library.terms)]
        return {"library": self.library.name, "field": self.library.field,
                "equation": f"dt({self.library.field}) = {self.equation()}",
                "active": [self.library.terms[k] for k in self.active], "terms": terms,
                "threshold": self.threshold, "residual": self.residual,
                "fit_trajectories": len(self.fit_trajectories), "seconds": self.seconds,
                "config": asdict(self.config), "cv": self.cv}


def discover(data: Trajectories, library: Optional[Library] = None,
             config: Optional[DiscoveryConfig] = None) -> Discovery:
    """Find the sparse combination of candidate terms that best explains dx/dt of ``data``.

    Uses the fitting trajectories (train + val; ``test`` is held out for :func:`validate`).

    Raises:
        DataError: bad data (see :class:`Trajectories`), too few trajectories, candidate terms
            not finite on the data. SpecError: a bad library. OptionError: bad options.
    """
    cfg = config or DiscoveryConfig()
    lib = library or load_library(None)
    t0 = time.perf_counter()
    idx = data.fit_indices()
    if cfg.max_trajectories:
        idx = idx[:cfg.max_trajectories]
    if len(idx) == 0:
        raise DataError(f"{data.source}: no trajectories left to fit (all are in the test split)")
    ev = TermEvaluator(lib, data.edge_index, data.shape[2], data.pos, cfg.params)
    grams = trajectory_gram(ev, data.frames[idx], data.times, cfg.window, cfg.order,
                            cfg.weak_window)
    t1 = time.perf_counter()
    cv = None
    if cfg.threshold is None:
        cv = cross_validate(grams, threshold_grid(grams), cfg.folds, cfg.seed, cfg.tolerance)
        lam = cv["chosen"]
    else:
        lam = float(cfg.threshold)
    coef = _fit(grams, lam)
    boot = bootstrap(grams, lam, cfg.bootstrap, cfg.seed) if cfg.bootstrap else coef[None]
    G, h, yy = grams.total()
    t2 = time.perf_counter()
    return Discovery(lib, coef, boot.std(0), (boot != 0).mean(0), lam, cv,
                     _sse(coef, G, h, yy) / max(yy, 1e-300), idx.tolist(),
                     {"features": t1 - t0, "regression": t2 - t1, "total": t2 - t0}, cfg)


def found_spec(found: Discovery, name: Optional[str] = None) -> str:
    """The found equation as spec text: the library's declarations, a comment per term with
    its bootstrap spread, and ``dt(field) = ...`` with the coefficients written out.

    The result parses and checks (``pde2gnn check``) and runs with ``simulate`` and ``train``.
    """
    lib = found.library
    name = name or f"{lib.name}_found"
    lines = []
    for raw in lib.header.splitlines():
        s = raw.strip()
        if s.startswith("model "):
            lines.append(f"model {name}")
            lines.append(f"# found by `pde2gnn discover` from the candidates of '{lib.name}' "
                         f"(STLSQ threshold {found.threshold:.3g}, relative residual "
                         f"{found.residual:.3g})")
            for k, t in enumerate(lib.terms):
                if found.coefficients[k] != 0 or found.inclusion[k] > 0:
                    lines.append(f"#   {t:<40s} {found.coefficients[k]: .6g} +- "
                                 f"{found.std[k]:.2g} (kept in {100 * found.inclusion[k]:.0f} % "
                                 "of bootstrap fits)")
        elif not s.startswith("#") or lines:
            lines.append(raw)
    eq = found.equation(6)
    if eq == "0":
        eq = f"0*{lib.field}"
    lines.append(f"dt({lib.field}) = {eq}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# validation


def validate(spec_text: str, data: Trajectories, indices: Optional[Sequence[int]] = None,
             png: Optional[str] = None, nodes_in_plot: int = 4, rtol: float = 1e-6,
             atol: float = 1e-8) -> dict:
    """Simulate a (found) spec from the initial frames of held-out trajectories on the data's
    graph and compare with the data at the data's frame times.

    Args:
        spec_text: the spec (one field). data: trajectories; ``indices``: which (default
            ``data.test``, else the last 15 %). png: plot of data and simulation at a few nodes
            of the first trajectory.

    Returns:
        {'trajectories', 'rel_l2' (||x_sim - x|| / ||x|| over all held-out frames),
         'mae', 'rel_l2_per_trajectory', 'max_abs', 'nfe', 'seconds', 'png'}.

    Raises:
        SolverError: the found spec diverges.
    """
    from .compiler import compile as compile_spec
    from .compiler import front
    from .solve import ODEBlock, SolverConfig

    idx = np.asarray(indices if indices is not None else data.test, dtype=int)
    if idx.size == 0:
        B = data.shape[0]
        idx = np.arange(B - max(1, int(round(0.15 * B))), B)
    t0 = time.perf_counter()
    checked = front(spec_text)
    chan = next(iter(checked.fields.values())).channels
    x = data.frames[idx]                                               # [b, T, N]
    times = torch.tensor(data.times - data.times[0])
    inputs = {checked.domain.name: torch.tensor(data.pos)} if checked.domain else {}
    batched = isinstance(chan, str)            # node[d]: trajectories as channels, else batch axis
    with _float64(), torch.no_grad():
        vf = compile_spec(spec_text, torch.as_tensor(data.edge_index), data.shape[2],
                          {chan: len(idx)} if batched else None, None, inputs)
        y0 = torch.tensor(x[:, 0].T if batched else x[:, 0, :, None])  # [N, b] or [b, N, 1]
        block = ODEBlock(vf, float(times[-1]), SolverConfig("dopri5", rtol, atol,
                                                             max_nfe=200000))
        ys = block(y0, times)                                          # [T, N, b] / [T, b, N, 1]
        ys = (ys.permute(2, 0, 1) if batched else ys[..., 0].permute(1, 0, 2)).numpy()  # [b, T, N]
    err = ys - x
    per = np.sqrt((err ** 2).sum((1, 2)) / np.maximum((x ** 2).sum((1, 2)), 1e-300))
    out = {"trajectories": idx.tolist(),
           "rel_l2": float(np.sqrt((err ** 2).sum() / max((x ** 2).sum(), 1e-300))),
           "mae": float(np.abs(err).mean()), "max_abs": float(np.abs(err).max()),
           "rel_l2_per_trajectory": per.tolist(), "nfe": int(block.nfe_forward),
           "seconds": time.perf_counter() - t0}
    if png:
        plot_validation(data.times, x[0], ys[0], png, f"{checked.name}: held-out trajectory "
                        f"{int(idx[0])}, rel. L2 error {per[0]:.3g}", nodes_in_plot)
        out["png"] = str(png)
    return out


def plot_validation(times: np.ndarray, data: np.ndarray, sim: np.ndarray, path: str, title: str,
                    count: int = 4) -> None:
    """PNG: data (dots) and simulation (lines) at ``count`` nodes, ``data``/``sim`` ``[T, N]``,
    plus the error over time (max over nodes)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nodes = np.linspace(0, data.shape[1] - 1, count).round().astype(int)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for n, col in zip(nodes, plt.cm.tab10.colors):
        a.plot(times, data[:, n], "o", ms=3, color=col, label=f"node {n} data")
        a.plot(times, sim[:, n], "-", lw=1.2, color=col, label=f"node {n} found spec")
    a.set_xlabel("t")
    a.set_ylabel("x")
    a.legend(fontsize=6, ncol=2)
    b.semilogy(times, np.abs(sim - data).max(1) + 1e-16, "k-")
    b.set_xlabel("t")
    b.set_ylabel("max over nodes |x_found - x_data|")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def summary_lines(found: Discovery) -> List[str]:
    """Human-readable lines: the equation, then each kept term with its spread."""
    lib = found.library
    out = [f"dt({lib.field}) = {found.equation()}",
           f"  threshold {found.threshold:.3g}" +
           (" (cross-validated, one-standard-error rule)" if found.cv else " (given)") +
           f", relative residual of dx/dt {found.residual:.3g}, "
           f"{len(found.fit_trajectories)} trajectories, {found.seconds['total']:.2f} s"]
    for k, t in enumerate(lib.terms):
        if found.coefficients[k] != 0 or found.inclusion[k] >= 0.05:
            out.append(f"  {t:<40s} {found.coefficients[k]: .6g} +- {found.std[k]:.2g}  "
                       f"(in {100 * found.inclusion[k]:.0f} % of bootstrap fits)")
    return out


def run(data_path: str, library: Optional[str] = None, out: Optional[str] = None,
        config: Optional[DiscoveryConfig] = None, noise: float = 0.0,
        png: Optional[str] = None, results: Optional[str] = None,
        log=print) -> dict:
    """``pde2gnn discover``: load, (optionally) add observation noise, discover, write the
    found spec to ``out`` (default ``discovered/<data stem>.pde``), validate it on the held-out
    trajectories (plot at ``png``, default beside ``out``) and write a JSON summary to
    ``results``. Returns the summary.

    Raises:
        DataError, SpecError, OptionError, SolverError: as :func:`discover` / :func:`validate`.
    """
    cfg = config or DiscoveryConfig()
    data = load_trajectories(data_path)
    if noise:
        data = data.with_noise(noise, cfg.seed)
    lib = load_library(library)
    found = discover(data, lib, cfg)
    for line in summary_lines(found):
        log(line)
    out = Path(out or Path("discovered") / (Path(data_path).stem + ".pde"))
    text = found_spec(found, out.stem.replace("-", "_") if out.stem.isidentifier() else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    log(f"wrote {out}")
    png = png or str(out.with_suffix(".png"))
    val = validate(text, data, None, png)
    log(f"validation on {len(val['trajectories'])} held-out trajectories: relative L2 error "
        f"{val['rel_l2']:.3g}, MAE {val['mae']:.3g} ({val['nfe']} evaluations); plot {png}")
    summary = {"data": str(data_path), "noise": noise, "library": library or "default",
               "found_spec": str(out), **found.to_dict(), "validation": val}
    if results:
        Path(results).parent.mkdir(parents=True, exist_ok=True)
        Path(results).write_text(json.dumps(summary, indent=1))
        log(f"results written to {results}")
    return summary
