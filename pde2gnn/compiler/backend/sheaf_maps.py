"""NSD's restriction maps F_{v⊴e} = Phi([x_v, x_u]) on the edge ends (Bodnar, Di Giovanni,
Chamberlain, Liò, Bronstein, "Neural Sheaf Diffusion", NeurIPS 2022, section 4): diagonal,
orthogonal (products of Householder reflections) or general d x d maps, optionally scaled by
learned edge weights; :class:`~pde2gnn.compiler.backend.sheaf.SheafLaplacian` assembles them.
"""
from __future__ import annotations

from typing import List, Tuple, Union

import torch
from torch import Tensor, nn

from pde2gnn.errors import DataError

KINDS = ("diag", "orthogonal", "general", "identity")

_Entry = Union[Tensor, float]


def householder_orthogonal(params: Tensor, d: int) -> Tensor:
    """Orthogonal matrices from ``params [..., d(d-1)/2]`` as a product of d Householder
    reflections, Q = H_1 ... H_d with H_c = I - 2 v_c v_c^T / |v_c|^2, v_c = e_c + the params in
    column c below the diagonal (in ``torch.tril_indices(d, d, -1)`` order; LAPACK's orgqr
    convention, ``torch.linalg.householder_product``; the NSD reference's default O(d) map).
    Every orthogonal matrix of determinant (-1)^d is reached; ``[..., d, d]``.

    The product is formed entry by entry on ``[...]``-vectors, from the right: v_c is zero
    above c, so H_c ... H_d = blockdiag(I_{c-1}, Q_c) and Q_c = M - tau_c u (u^T M) with
    M = blockdiag(1, Q_{c+1}), u = (1, params of column c), tau_c = 2 / |u|^2 (Q_d = -1). Each
    entry is then one long elementwise operation (and the backward the same), instead of
    batched d x d products, whose cost at d = 3 is the per-matrix overhead: about 5x less
    time than ``householder_product`` forward and backward on 400,000 maps, equal to
    rounding (tests/compiler/test_sheaf_maps.py)."""
    return _householder_rows(list(params.movedim(-1, 0).contiguous()), d, params)


def _householder_rows(P: List[Tensor], d: int, like: Tensor) -> Tensor:
    """:func:`householder_orthogonal` of the parameters given as d(d-1)/2 tensors ``[...]``
    (one per parameter, contiguous); ``like`` gives dtype and device; ``[..., d, d]``."""
    il = torch.tril_indices(d, d, -1).tolist()
    Q: List[List[_Entry]] = [[-1.0]]
    for c in range(d - 2, -1, -1):
        p = [P[t] for t, col in enumerate(il[1]) if col == c]   # column c below the diagonal
        m = d - c
        M = [[1.0] + [0.0] * (m - 1)] + [[0.0] + row for row in Q]
        s: _Entry = 1.0
        for q in p:
            s = s + q * q
        u = [1.0] + p
        tu = [2.0 / s * ui for ui in u]                           # tau_c u
        uM = [1.0] + [_dot(p, [row[j] for row in Q]) for j in range(m - 1)]   # u^T M
        Q = [[M[i][j] - tu[i] * uM[j] for j in range(m)] for i in range(m)]
    shape = P[0].shape if P else like.shape[:-1]
    full = [[q if torch.is_tensor(q) else like.new_full(shape, q) for q in row] for row in Q]
    return torch.stack([torch.stack(row, -1) for row in full], -2)


def _dot(a: List[_Entry], b: List[_Entry]) -> _Entry:
    out: _Entry = 0.0
    for x, y in zip(a, b):
        out = out + x * y
    return out


class Restriction(nn.Module):
    """NSD's restriction-map network: F_{v⊴e} = Phi([x_v, x_u]) for each edge end.

    Phi is one linear layer on the concatenated flattened stalks (2 d k inputs) followed by
    ``tanh`` (the reference's ``sheaf_act``); ``diag`` / ``general`` maps are its d / d^2
    outputs, ``orthogonal`` maps a product of Householder reflections of its d(d-1)/2 outputs
    (:func:`householder_orthogonal`, the reference's default ``orth_trans``).
    ``identity`` gives F = I (the ablation without a learned sheaf). With ``weights`` both
    maps of an edge are scaled by a learned symmetric weight w_e = s_ab s_ba, s_ab =
    sigmoid(w . [x_a, x_b]) (the reference's ``EdgeWeightLearner``, on by default there).
    With ``lowpass`` the maps are learned (and weighted) on the first d - 1 stalk coordinates
    and fixed to 1 on the last, which therefore diffuses with the plain normalised graph
    Laplacian (the reference's ``add_lp``); the network still reads all d k channels.

    Input x ``[N, d, k]``; returns (F_tail, F_head), each ``[E, d]`` (diag) or ``[E, d, d]``.
    """

    def __init__(self, d: int, k: int, kind: str = "diag", weights: bool = False,
                 lowpass: bool = False):
        super().__init__()
        if kind not in KINDS:
            raise DataError(f"restriction kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if lowpass and d < 2:
            raise DataError(f"restriction(..., lowpass=true) needs a stalk of 2 or more, got {d}")
        self.d, self.k, self.kind, self.lowpass = d, k, kind, bool(lowpass)
        m = d - 1 if lowpass else d                            # learned stalk coordinates
        self.learned_d = m
        n_out = {"diag": m, "orthogonal": m * (m - 1) // 2, "general": m * m, "identity": 0}[kind]
        self.lin = nn.Linear(2 * d * k, n_out, bias=False) if n_out else None
        self.weight = nn.Linear(2 * d * k, 1, bias=False) if weights else None

    def on_edges(self, x: Tensor, a: Tensor, b: Tensor) -> Tensor:
        """The map at the a end of each edge (a, b), F_{a⊴e} = Phi([x_a, x_b]), from the node
        stalks ``x`` ``[N, d, k]`` and the edge ends ``a``, ``b`` ``[E]``: ``[E, d]`` (diag;
        identity: ones, the diagonal of I) or ``[E, d, d]``.

        Phi is linear before its tanh, so W [x_a, x_b] = W_a x_a + W_b x_b: the two halves of
        W act once on the N nodes and each edge sums two gathered columns of the m outputs,
        instead of gathering and multiplying E rows of 2 d k inputs (E / N times less work).
        """
        m = self.learned_d
        if self.kind == "identity":
            F = x.new_ones(a.shape[0], m)
        elif self.lin is None:      # orthogonal with d = 1: SO(1) = {1}, nothing to learn
            F = x.new_ones(a.shape[0], 1, 1)
        else:
            Z = torch.tanh(_pair_logits(self.lin.weight, x, a, b))   # [outputs, E]
            if self.kind == "orthogonal":
                F = _householder_rows(list(Z), m, Z)
            else:
                F = Z.T.reshape(-1, m, m) if self.kind == "general" else Z.T
        if self.weight is not None:
            # w_e = sigmoid(w . [x_a, x_b]) sigmoid(w . [x_b, x_a]), the same at both ends
            w = torch.sigmoid(_pair_logits(self.weight.weight, x, a, b, both=True)).prod(0)
            F = F * (w[:, None] if F.dim() == 2 else w[:, None, None])
        if not self.lowpass:
            return F
        if F.dim() == 2:                                       # diagonal: append the 1
            return torch.nn.functional.pad(F, (0, 1), value=1.0)
        last = torch.zeros(self.d, self.d, dtype=F.dtype, device=F.device)
        last[-1, -1] = 1.0
        return torch.nn.functional.pad(F, (0, 1, 0, 1)) + last  # block diag(F, 1)

    def forward(self, x: Tensor, lap) -> Tuple[Tensor, Tensor]:
        """(F_tail, F_head) on the undirected edges of ``lap`` (a
        :class:`~pde2gnn.compiler.backend.sheaf.SheafLaplacian`)."""
        t, h = lap.tail, lap.head
        if self.kind == "identity" and self.weight is None:
            eye = torch.eye(self.d, dtype=x.dtype, device=x.device).expand(t.numel(), -1, -1)
            return eye, eye
        return self.on_edges(x, t, h), self.on_edges(x, h, t)


def _pair_logits(W: Tensor, x: Tensor, a: Tensor, b: Tensor, both: bool = False) -> Tensor:
    """W [x_a, x_b] for every edge (a, b) from the node stalks x ``[N, d, k]``, transposed:
    ``[m, E]`` for W ``[m, 2 d k]`` (one contiguous row per output, the layout
    :func:`_householder_rows` works on). With ``both``, also W [x_b, x_a]: ``[2m, E]``.

    W [x_a, x_b] = W_a x_a + W_b x_b: the two halves of W act once on the N nodes, and each
    edge sums two gathered columns (E / N times less work than a product on E rows)."""
    flat = x.flatten(1)                                        # [N, c]
    m, c = W.shape[0], flat.shape[1]
    H = torch.cat([W[:, :c], W[:, c:]]) @ flat.T               # [2m, N]: W_a x, W_b x
    Ha, Hb = H[:m], H[m:]
    Z = Ha.index_select(1, a) + Hb.index_select(1, b)
    if both:
        Z = torch.cat([Z, Ha.index_select(1, b) + Hb.index_select(1, a)])
    return Z
