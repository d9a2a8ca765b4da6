"""Graph positional encodings for BLEND's positional coordinates u (Chamberlain et al. 2021, §4).

Every encoding maps a graph (``edge_index [2, E]``, N nodes) to a dense ``[N, D]`` float tensor:

========  =======================================================================================
kind      meaning
========  =======================================================================================
ppr       personalised PageRank as in DIGL (Gasteiger et al. 2019): S = a (I - (1-a) T)^-1 with
          T = D^-1/2 (A + I) D^-1/2, each row sparsified to its top ``topk`` entries and
          L1-normalised. ``topk = 0`` keeps S dense and divides each column by its sum, as the
          BLEND reference code's encoding does (graph-neural-pde ``GDCWrapper.position_encoding``,
          whose sparsification is switched off); up to ``DENSE_MAX`` nodes only. ``eps > 0``
          pushes an approximate S to that threshold instead (:func:`ppr_push`), column-
          normalised: the same code's encoding on larger graphs (``exact = False``, PubMed).
          ``dim = 0`` keeps the rows themselves (D = N, as the BLEND reference code does);
          ``0 < dim < N`` reduces them with a truncated SVD to D = dim columns.
          Dense inverse up to ``DENSE_MAX`` nodes, else a thresholded sparse power series (no N x N
          dense matrix is ever formed, so PubMed fits).
lap       the ``dim`` Laplacian eigenvectors after the trivial one (torch_geometric's
          ``AddLaplacianEigenvectorPE``), signs fixed so that each column's largest entry is
          positive.
rw        random-walk return probabilities of 1..dim steps (``AddRandomWalkPE``).
deepwalk  spectral DeepWalk (NetMF, Qiu et al. 2018, window T = 10, b = 1):
          log max(vol(G)/(bT) sum_{r<=T} (D^-1 A)^r D^-1, 1), factorised with a truncated SVD to
          D = dim columns, U sqrt(S). Dense, so limited to ``DENSE_MAX`` nodes.
========  =======================================================================================

:func:`positional_encoding` caches results on disk under ``<cache_dir>/posenc`` keyed by a hash
of the graph and the options, so each is computed once per data set.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import remove_self_loops, to_undirected

from pde2gnn.errors import OptionError

KINDS = ("ppr", "lap", "rw", "deepwalk")
DENSE_MAX = 6000


def _adjacency(edge_index: Tensor, n: int) -> sps.csr_matrix:
    """Symmetric 0/1 adjacency without self-loops, scipy CSR ``[N, N]``."""
    ei, _ = remove_self_loops(to_undirected(edge_index, num_nodes=n))
    ei = ei.cpu().numpy()
    a = sps.coo_matrix((np.ones(ei.shape[1]), (ei[1], ei[0])), shape=(n, n)).tocsr()
    a.data[:] = 1.0
    return a


def _topk_rows(s: np.ndarray, k: int):
    """Indices and values of the k largest entries of every row of a dense block ``[B, N]``."""
    k = min(k, s.shape[1])
    idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
    return idx, np.take_along_axis(s, idx, axis=1)


def _ppr_transition(edge_index: Tensor, n: int) -> sps.csr_matrix:
    """T = D^-1/2 (A + I) D^-1/2, scipy CSR ``[N, N]`` (GDC's symmetric normalisation)."""
    a = _adjacency(edge_index, n) + sps.identity(n, format="csr")
    dinv = 1.0 / np.sqrt(np.asarray(a.sum(1)).ravel())
    return (sps.diags(dinv) @ a @ sps.diags(dinv)).tocsr()


def _ppr_inverse(t: sps.csr_matrix, alpha: float) -> np.ndarray:
    """S = alpha (I - (1 - alpha) T)^-1, dense ``[N, N]`` (before any normalisation)."""
    n = t.shape[0]
    return alpha * np.linalg.inv(np.eye(n) - (1 - alpha) * t.toarray())


def ppr_dense(edge_index: Tensor, n: int, alpha: float = 0.05) -> np.ndarray:
    """Dense column-normalised personalised PageRank matrix ``[N, N]``, float64: S / 1^T S.

    S = alpha (I - (1 - alpha) T)^-1, T = D^-1/2 (A + I) D^-1/2, every column divided by its sum
    (GDC's ``normalization_out = 'col'``), without sparsification: the BLEND reference code's
    positional encoding (graph-neural-pde, ``GDCWrapper.position_encoding``; row i encodes node
    i). S is symmetric, so row i is node i's PPR vector with entry j scaled by 1 / sum_k S_kj.

    Raises:
        OptionError: more than ``DENSE_MAX`` nodes (use a top-k sparsified encoding).
    """
    if n > DENSE_MAX:
        raise OptionError(f"the dense PPR encoding (topk 0) inverts an {n} x {n} matrix; "
                          f"graphs above {DENSE_MAX} nodes need a top-k sparsified one "
                          "(e.g. --ppr-topk 64)")
    s = _ppr_inverse(_ppr_transition(edge_index, n), alpha)
    return s / s.sum(0, keepdims=True)


def ppr_matrix(edge_index: Tensor, n: int, alpha: float = 0.05, topk: int = 64,
               eps: float = 1e-5) -> sps.csr_matrix:
    """Top-k sparsified, row-normalised personalised PageRank matrix (DIGL), scipy CSR ``[N, N]``.

    Row i holds the PPR vector of a walk restarting at i with probability ``alpha``:
    S = alpha (I - (1 - alpha) T)^-1, T = D^-1/2 (A + I) D^-1/2. Up to ``DENSE_MAX`` nodes S is
    the dense inverse; beyond, the series alpha sum_t ((1 - alpha) T)^t is summed with sparse
    matrices, dropping entries below ``eps`` after every step, so memory stays O(N * support).
    """
    t = _ppr_transition(edge_index, n)
    if n <= DENSE_MAX:
        s = _ppr_inverse(t, alpha)
        idx, v = _topk_rows(s, topk)
        rows, cols = np.repeat(np.arange(n), idx.shape[1]), idx.ravel()
    else:
        term = alpha * sps.identity(n, format="csr")
        acc = term.copy()
        while term.nnz:
            term = ((1 - alpha) * (t @ term)).tocsr()
            term.data[np.abs(term.data) < eps] = 0.0
            term.eliminate_zeros()
            acc = acc + term
        acc = acc.T.tocsr()  # row i = PPR vector from i (S is symmetric up to the dropped tail)
        rows, cols, vals = [], [], []
        for i in range(n):
            lo, hi = acc.indptr[i], acc.indptr[i + 1]
            d, c = acc.data[lo:hi], acc.indices[lo:hi]
            keep = np.argsort(-d)[:topk]
            rows.append(np.full(keep.size, i))
            cols.append(c[keep])
            vals.append(d[keep])
        rows, cols, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    m = sps.csr_matrix((np.asarray(v).ravel(), (rows, cols)), shape=(n, n))
    rowsum = np.asarray(m.sum(1)).ravel()
    return (sps.diags(1.0 / np.maximum(rowsum, 1e-12)) @ m).tocsr()


def ppr_push(edge_index: Tensor, n: int, alpha: float = 0.05, eps: float = 1e-2) -> sps.csr_matrix:
    """Approximate personalised PageRank by push (Andersen, Chung and Lang 2006), column-
    normalised, scipy CSR ``[N, N]``: the BLEND reference's PubMed encoding (graph-neural-pde
    ``GDCWrapper.position_encoding`` with ``exact = False``, ``gdc_threshold`` = ``eps``).

    torch_geometric's ``GDC.diffusion_matrix_approx`` on A + I (symmetric normalisation; a
    residual below ``eps`` times the degree stops the push), then every column divided by its
    sum (``normalization_out = 'col'``). As ``eps`` -> 0 it tends to :func:`ppr_dense`.

    Raises:
        OptionError: ``eps`` not in (0, 1), or numba (which torch_geometric's push needs)
            missing: ``pip install 'pde2gnn[posenc]'``.
    """
    from torch_geometric.transforms import GDC
    from torch_geometric.utils import add_self_loops, coalesce

    if not 0 < eps < 1:
        raise OptionError(f"ppr eps (the push threshold) must be in (0, 1), got {eps}")
    if importlib.util.find_spec("numba") is None:
        raise OptionError("--ppr-eps (the pushed PPR encoding) needs numba, which "
                          "torch_geometric's push uses: pip install numba, or pip install "
                          "'pde2gnn[posenc]'")
    ei, _ = remove_self_loops(to_undirected(edge_index.cpu(), num_nodes=n))
    ei, w = add_self_loops(ei, torch.ones(ei.size(1), dtype=torch.float64), fill_value=1.0,
                           num_nodes=n)
    gdc = GDC()
    ei, w = gdc.diffusion_matrix_approx(*coalesce(ei, w, n), n, "sym", method="ppr",
                                        alpha=alpha, eps=eps)
    ei, w = gdc.transition_matrix(*coalesce(ei, w, n), n, "col")
    return sps.csr_matrix((w.double().numpy(), (ei[0].numpy(), ei[1].numpy())), shape=(n, n))


def _svd_embed(m, dim: int, seed: int) -> np.ndarray:
    """U sqrt(S) of a rank-``dim`` truncated SVD, sign-fixed (deterministic)."""
    rng = np.random.default_rng(seed)
    v0 = rng.standard_normal(min(m.shape))
    u, s, _ = spla.svds(m, k=dim, v0=v0)
    order = np.argsort(-s)
    u, s = u[:, order], s[order]
    return _fix_signs(u * np.sqrt(s))


def _fix_signs(u: np.ndarray) -> np.ndarray:
    sign = np.sign(u[np.abs(u).argmax(0), np.arange(u.shape[1])])
    return u * np.where(sign == 0, 1.0, sign)


def ppr_encoding(edge_index: Tensor, n: int, dim: int = 0, alpha: float = 0.05,
                 topk: int = 64, seed: int = 0, eps: float = 0.0) -> np.ndarray:
    """PPR rows ``[N, N]`` (``dim = 0``) or their ``dim``-column truncated SVD ``[N, dim]``:
    pushed to the threshold ``eps`` (``eps > 0``, :func:`ppr_push`; ``topk`` unused), top-``topk``
    sparsified (:func:`ppr_matrix`), or dense (``topk = 0``, :func:`ppr_dense`)."""
    if topk < 0:
        raise OptionError(f"ppr topk must be 0 (dense) or positive, got {topk}")
    if topk == 0 and not eps:
        s = ppr_dense(edge_index, n, alpha)
        return s if dim <= 0 or dim >= n else _svd_embed(s, dim, seed)
    s = ppr_push(edge_index, n, alpha, eps) if eps else ppr_matrix(edge_index, n, alpha, topk)
    if dim <= 0 or dim >= n:
        if n > 4 * DENSE_MAX:
            raise OptionError(f"dense PPR rows need {n} x {n} floats: pass a posenc dimension "
                              "(e.g. posenc_dim = 128) to reduce them with a truncated SVD")
        return s.toarray()
    return _svd_embed(s, dim, seed)


def laplacian_encoding(edge_index: Tensor, n: int, dim: int = 16) -> np.ndarray:
    """The ``dim`` Laplacian eigenvectors after the first (``AddLaplacianEigenvectorPE``)."""
    from torch_geometric.transforms import AddLaplacianEigenvectorPE

    data = Data(edge_index=to_undirected(edge_index, num_nodes=n), num_nodes=n)
    out = AddLaplacianEigenvectorPE(dim, attr_name="pe", is_undirected=True)(data)
    return _fix_signs(out.pe.double().numpy())


def random_walk_encoding(edge_index: Tensor, n: int, dim: int = 16) -> np.ndarray:
    """Return probabilities of random walks of 1..``dim`` steps (``AddRandomWalkPE``)."""
    from torch_geometric.transforms import AddRandomWalkPE

    data = Data(edge_index=to_undirected(edge_index, num_nodes=n), num_nodes=n)
    return AddRandomWalkPE(dim, attr_name="pe")(data).pe.double().numpy()


def deepwalk_encoding(edge_index: Tensor, n: int, dim: int = 16, window: int = 10,
                      negative: float = 1.0, seed: int = 0) -> np.ndarray:
    """Spectral DeepWalk (NetMF, small-window form): ``[N, dim]``."""
    if n > DENSE_MAX * 2:
        raise OptionError(f"deepwalk (NetMF) forms a dense {n} x {n} matrix; use posenc 'ppr' "
                          "or 'lap' for graphs this large")
    a = _adjacency(edge_index, n)
    deg = np.asarray(a.sum(1)).ravel()
    dinv = np.where(deg > 0, 1.0 / np.maximum(deg, 1e-12), 0.0)
    p = (sps.diags(dinv) @ a).toarray()
    acc, pr = np.zeros((n, n)), np.eye(n)
    for _ in range(window):
        pr = pr @ p
        acc += pr
    m = deg.sum() / (negative * window) * acc * dinv[None, :]
    return _svd_embed(np.log(np.maximum(m, 1.0)), dim, seed)


def compute(kind: str, edge_index: Tensor, n: int, dim: int = 16, seed: int = 0,
            **options) -> Tensor:
    """One positional encoding, uncached: float32 ``[N, D]`` (see the module table for D).

    Raises:
        OptionError: an unknown kind, or a dimension outside 1 .. N - 1 (0 only for ``ppr``).
    """
    top = n if kind == "rw" else n - 1   # rw: walk lengths; the others: eigen / singular vectors
    if kind in KINDS and not (0 < dim <= top or (kind == "ppr" and dim == 0)):
        raise OptionError(f"positional encoding '{kind}' needs a dimension between 1 and "
                          f"{top}, got {dim}" + (" (0, N-wide rows, is for ppr only: set "
                                                 "--posenc-dim)" if dim == 0 else ""))
    if kind == "ppr":
        out = ppr_encoding(edge_index, n, dim, seed=seed, **options)
    elif kind == "lap":
        out = laplacian_encoding(edge_index, n, dim)
    elif kind == "rw":
        out = random_walk_encoding(edge_index, n, dim)
    elif kind == "deepwalk":
        out = deepwalk_encoding(edge_index, n, dim, seed=seed, **options)
    else:
        raise OptionError(f"unknown positional encoding '{kind}' (choose from {', '.join(KINDS)})")
    return torch.as_tensor(np.ascontiguousarray(out), dtype=torch.float32)


def cache_key(kind: str, edge_index: Tensor, n: int, dim: int, seed: int, options: dict) -> str:
    h = hashlib.sha1()
    h.update(edge_index.detach().cpu().long().contiguous().numpy().tobytes())
    h.update(repr((kind, n, dim, seed, sorted(options.items()))).encode())
    return f"{kind}{dim}_{h.hexdigest()[:16]}"


def positional_encoding(kind: str, edge_index: Tensor, n: int, dim: int = 16, seed: int = 0,
                        cache: Optional[Path] = None, **options) -> Tensor:
    """A positional encoding ``[N, D]``, loaded from / saved to ``cache`` (a folder).

    Args:
        kind: ``ppr``, ``lap``, ``rw`` or ``deepwalk``.
        edge_index: ``[2, E]`` input graph (made undirected).
        n: N.
        dim: D (for ``ppr``: 0 keeps the N-dimensional rows).
        seed: seed of the randomised SVD starts (results are deterministic given it).
        cache: folder for ``.pt`` files; default ``<pde2gnn.resources.cache_dir()>/posenc``;
            ``False`` disables caching.
        options: ``alpha``, ``topk``, ``eps`` (ppr); ``window``, ``negative`` (deepwalk).
    """
    if cache is None:
        from pde2gnn.resources import cache_dir
        cache = cache_dir() / "posenc"
    if cache is False:
        return compute(kind, edge_index, n, dim, seed, **options)
    path = Path(cache) / (cache_key(kind, edge_index, n, dim, seed, options) + ".pt")
    if path.is_file():
        try:
            return torch.load(path, weights_only=True)
        except Exception as e:  # noqa: BLE001 - truncated, garbage or empty: rebuild it
            warnings.warn(f"positional-encoding cache file {path} is unreadable "
                          f"({type(e).__name__}: {str(e)[:80]}); rebuilding it")
    out = compute(kind, edge_index, n, dim, seed, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # one per process: no two writers share it
    torch.save(out, tmp)
    tmp.replace(path)
    return out
