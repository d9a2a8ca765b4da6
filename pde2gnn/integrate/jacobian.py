"""The Jacobian df/dy of a whole vector field f(t, y) = L y + N(t, y) as a sparse matrix, exact.

Columns of J^T (rows of J) whose patterns do not overlap are read off one vector-Jacobian
product each (Curtis, Powell & Reid, IMA J. Appl. Math. 13 (1974) 117-119, applied to J^T as
in reverse-mode sparse differentiation: Griewank & Walther, "Evaluating Derivatives", 2nd ed.,
SIAM 2008, ch. 8): one reverse pass per batch of 64 colours on copies of y, so the entries are
exact to rounding, unlike the finite differences of scipy's BDF or :mod:`.newton`. Reverse mode
is used because the generated code's sparse products (:mod:`pde2gnn.compiler.backend.csr`) are
autograd Functions with backward rules only.

The node pattern starts at L's ((A + I)^depth, :func:`pde2gnn.compiler.backend.split.node_pattern`)
and is widened by one hop while a check fails: J^T w against one vector-Jacobian product with a
random w (a term of N reaching further than L's stencil, e.g. ``lap(lap(u^3))`` beside a local L).
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sps
import torch
from scipy.sparse.linalg import splu
from torch import Tensor

from pde2gnn.compiler.backend.split import greedy_colouring, node_pattern
from pde2gnn.errors import OptionError
from pde2gnn.integrate.blocklu import factorise
from pde2gnn.integrate.linsolve import MatrixOperator, StageSolver

#: re-evaluate J after this many accepted steps on it
REFRESH_EVERY = 50
#: re-evaluate J after an accepted step on an older J whose error ratio exceeds this
STALE_RATIO = 0.5
#: keep h (and its factorisation) while the step-size controller asks for less growth than this
KEEP_BAND = 1.5


class FieldJacobian:
    """J(t, y) = df/dy of ``f`` on a node pattern, by coloured vector-Jacobian products.

    Args:
        f: ``f(t, y)``, t a 0-dim tensor, y ``[N, D]`` or ``[B, N, D]`` (batched copies).
        adjacency: boolean ``A + I`` ``[N, N]`` (scipy CSR): one hop of the graph.
        depth: the starting number of hops (L's stencil).
        width: D, the channels of a node (all channel pairs of two nodes may couple).
        max_colours: above this many colours a Jacobian would cost more than it saves: raise.
        max_depth: widen the pattern at most to this many hops.

    Attributes:
        evaluations: batched reverse passes taken so far (each on up to 65 copies of y).
        products: vector-Jacobian products (colours x channels, plus one check per Jacobian,
            which rides in the last pass).

    Raises:
        OptionError: more than ``max_colours`` colours (a graph with hubs: use an IMEX method,
            whose L is solved matrix-free), or no pattern up to ``max_depth`` hops holds J.
    """

    def __init__(self, f: Callable[[Tensor, Tensor], Tensor], adjacency: sps.csr_matrix,
                 depth: int, width: int, max_colours: int = 512, max_depth: int = 6):
        self.f, self.adj, self.width = f, adjacency.astype(bool).astype(np.int8).tocsr(), width
        self.max_colours, self.max_depth = max_colours, max_depth
        self.evaluations = self.products = 0
        self._set_depth(max(depth, 1))

    def _set_depth(self, depth: int) -> None:
        p = self.adj
        for _ in range(depth - 1):
            p = (p @ self.adj).astype(bool).astype(np.int8)
        self.depth, self.pattern_t = depth, p.T.tocsr()
        if p.nnz > 4 * self.max_colours * p.shape[0]:     # hubs: no colouring can be cheap
            raise OptionError(f"the Jacobian of this field has {p.nnz / p.shape[0]:.0f} "
                              f"entries per row on a {depth}-hop pattern (a graph with hubs); "
                              "use an IMEX method (ark3, ark4), which solves with L only")
        conflict = (p @ p.T).astype(bool).astype(np.int8).tocsr()    # rows sharing a column
        self.colour = greedy_colouring(conflict)
        ncol = int(self.colour.max()) + 1 if len(self.colour) else 0
        if ncol > self.max_colours:
            raise OptionError(f"the Jacobian of this field needs {ncol} colours of probes on a "
                              f"{depth}-hop pattern (more than {self.max_colours}: a graph with "
                              "hubs); use an IMEX method (ark3, ark4), which solves with L only")
        self._layout()

    @property
    def colours(self) -> int:
        return int(self.colour.max()) + 1

    def _layout(self) -> None:
        """The fixed map from the probes' outputs to J's entries (built once per pattern).

        Probe k = colour * D + channel is the indicator of the nodes of one colour, in one
        channel; entry (i D + a, j D + b) of J^T (node pattern entry (i, j)) is output a of
        node i of probe colour(j) D + b. The entries are laid out once in CSR order of J^T
        (that is, CSC order of J), so each Jacobian is one gather of the outputs."""
        d, pt = self.width, self.pattern_t.tocoo()
        n = pt.shape[0]
        a, b = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
        a, b = a.reshape(-1), b.reshape(-1)
        rows = (pt.row[:, None] * d + a).reshape(-1)          # [E d^2]: entry, a, b
        cols = (pt.col[:, None] * d + b).reshape(-1)
        probe_of = self.colour[pt.col][:, None] * d + b        # [E, d^2]
        src = ((probe_of * n + pt.row[:, None]) * d + a).reshape(-1)
        order = sps.csr_matrix((np.arange(1, len(rows) + 1, dtype=np.float64), (rows, cols)),
                               shape=(n * d, n * d))
        order.sort_indices()
        self._indptr, self._indices = order.indptr, order.indices
        self._src = src[order.data.astype(np.int64) - 1]

    def _probes(self, t: Tensor, y: Tensor, w: Tensor):
        """(J^T e_k for every probe k flattened ``[K N D]``, J^T w ``[N D]``): reverse passes
        of up to 64 probes; w ``[1, N, D]`` rides in the last one."""
        n, d = y.shape[-2], self.width
        col_t = torch.as_tensor(self.colour, device=y.device)
        total = self.colours * d
        outs = []
        for k0 in range(0, total, 64):
            ks = range(k0, min(k0 + 64, total))
            last = k0 + 64 >= total
            e = torch.zeros(len(ks) + last, n, d, dtype=y.dtype, device=y.device)
            for b, k in enumerate(ks):
                e[b, col_t == k // d, k % d] = 1.0
            if last:
                e[-1] = w[0]
            outs.append(self._vjp(t, y, e).detach().cpu().numpy())
        out = np.concatenate(outs)
        return out[:-1].reshape(-1), out[-1].reshape(-1)

    def _vjp(self, t: Tensor, y: Tensor, w: Tensor) -> Tensor:
        """J^T w for a batch w ``[B, N, D]`` (one reverse pass on B copies of y)."""
        self.evaluations += 1
        self.products += w.shape[0]
        with torch.enable_grad():
            yb = y.detach().expand(w.shape[0], *y.shape).clone().requires_grad_()
            (g,) = torch.autograd.grad(self.f(t, yb), yb, w.reshape(yb.shape),
                                       allow_unused=True)
        return torch.zeros_like(w) if g is None else g.reshape(w.shape)

    def __call__(self, t: Tensor, y: Tensor) -> sps.csr_matrix:
        """J at (t, y) (y ``[N, D]``) as a float64 CSR matrix ``[N D, N D]`` (row-major
        state: node, then channel).

        Raises:
            OptionError: no pattern up to ``max_depth`` hops holds J (see the class)."""
        n = y.shape[-2]
        g = torch.Generator(device="cpu").manual_seed(0)
        w = torch.randn((1, n, self.width), generator=g, dtype=y.dtype).to(y.device)
        size = n * self.width
        while True:
            probes, exact = self._probes(t, y, w)
            jac = sps.csc_matrix((probes[self._src].astype(np.float64), self._indices,
                                  self._indptr), shape=(size, size))
            got = jac.T @ w.reshape(-1).cpu().numpy()
            scale = np.linalg.norm(exact) + np.linalg.norm(got) + 1e-300
            eps = float(torch.finfo(y.dtype).eps)
            if np.linalg.norm(exact - got) <= 1e3 * math.sqrt(n * self.width) * eps * scale:
                jac = jac.tocsr()
                jac.eliminate_zeros()
                return jac
            if self.depth >= self.max_depth:
                raise OptionError(f"the Jacobian of this field reaches beyond {self.depth} "
                                  "hops of the graph; use an IMEX method (ark3, ark4)")
            self._set_depth(self.depth + 1)


def nested_dissection(pattern: sps.spmatrix) -> Optional[np.ndarray]:
    """A fill-reducing symmetric ordering ``perm [n]`` of the pattern of ``pattern + pattern^T``
    by METIS's nested dissection (George, SIAM J. Numer. Anal. 10 (1973) 345-363; Karypis &
    Kumar 1998, through ``pymetis``), or None when pymetis is not installed. On 2-D grids it
    halves SuperLU's fill and factorisation time against its own minimum-degree orderings."""
    if pattern.shape[0] < 64:           # nothing to gain (and METIS wants a graph)
        return None
    try:
        import pymetis
    except ImportError:
        return None
    s = ((abs(pattern) + abs(pattern.T)) != 0).tocsr()
    s.setdiag(0)
    s.eliminate_zeros()
    _, iperm = pymetis.nested_dissection(pymetis.CSRAdjacency(s.indptr, s.indices))
    return np.argsort(np.asarray(iperm))


class _PermutedLU:
    """SuperLU of P A P^T in a fixed order (``solve(b, trans)`` as scipy's ``SuperLU``)."""

    def __init__(self, a: sps.spmatrix, perm: np.ndarray, permuted: bool = False):
        self.perm = perm
        ap = a.tocsc() if permuted else a.tocsr()[perm][:, perm].tocsc()
        self.lu = splu(ap, permc_spec="NATURAL", options=dict(SymmetricMode=True))

    def solve(self, b: np.ndarray, trans: str = "N") -> np.ndarray:
        x = np.empty_like(b)
        x[self.perm] = self.lu.solve(np.ascontiguousarray(b[self.perm]), trans=trans)
        return x


class JacobianSolver(StageSolver):
    """(I - g J) x = b by SuperLU, in a nested-dissection order where pymetis is installed
    (else SuperLU's MMD_AT_PLUS_A): one factorisation per distinct g, counted in ``stats``."""

    def __init__(self, J: sps.csr_matrix, perm: Optional[np.ndarray], like: Tensor,
                 width: int = 1, **kw):
        super().__init__(MatrixOperator(J, dtype=like.dtype, width=width), "direct", **kw)
        self.perm = perm
        self._permuted: Optional[sps.csc_matrix] = None    # P J P^T, once per J (width 1)

    def L(self, y: Tensor) -> Tensor:
        """J y (sign applied); scipy's CSR product where no gradient is asked for."""
        if torch.is_grad_enabled() and y.requires_grad:
            return super().L(y)
        self.stats.products += 1
        m = self.op.matrix()
        flat = y.detach().reshape(-1, m.shape[0]).T.cpu().numpy()
        out = torch.as_tensor(np.ascontiguousarray((m @ flat).T), dtype=y.dtype).reshape(y.shape)
        return out if self.sign == 1.0 else -out

    def _factor(self, g: float):
        if self.perm is None:
            return super()._factor(g)
        g = float(f"{g:.12g}")
        if g not in self._lu and self.op.width == 1:     # P (I - g J) P^T = I - g P J P^T
            if self._permuted is None:
                self._permuted = self.op.matrix()[self.perm][:, self.perm].tocsc()
            m = self._permuted
            self._lu[g] = _PermutedLU(sps.identity(m.shape[0], format="csc")
                                      - (self.sign * g) * m, self.perm, permuted=True)
            self.stats.factorizations += 1
        if g not in self._lu:
            m = self.op.matrix()
            a = sps.identity(m.shape[0], format="csr") - (self.sign * g) * m
            d = self.op.width       # channel blocks (blocklu) are ordered by the node order
            nodes = self.perm if d == 1 else self.perm[::d] // d
            self._lu[g] = factorise(a, d, lambda b: _PermutedLU(
                b, nodes if b.shape[0] == len(nodes) else self.perm))
            self.stats.factorizations += getattr(self._lu[g], "factorizations", 1)
        return self._lu[g]


def field_adjacency(op):
    """(A + I ``[n, n]``, depth, width) of the pattern J starts from: the graph's one hop and
    L's depth for a compiled split (:class:`~pde2gnn.compiler.backend.split.SplitOperator`),
    or the pattern of the matrix itself (n = N D, width 1) for a
    :class:`~pde2gnn.integrate.linsolve.MatrixOperator`.

    Raises:
        OptionError: neither a graph nor a matrix."""
    if hasattr(op, "i") and hasattr(op, "depth"):
        return node_pattern(op.i, op.j, op.n, 1), op.depth, op.width
    m = op.matrix() if hasattr(op, "matrix") else None
    if m is None:
        raise OptionError("methods on the whole Jacobian (ark3j, ark4j, ros34pw2, rodas) need "
                          "the graph of the field (a compiled spec) or L as a matrix")
    n = m.shape[0]
    return (sps.csr_matrix(m) != 0).astype(np.int8) + sps.identity(n, format="csr",
                                                                   dtype=np.int8), 1, 1


class FrozenJacobian:
    """J(t_n, y_n) of a field, held over steps, with its stage solver and the reuse policy
    shared by the methods on the whole Jacobian (:mod:`.linearised`, :mod:`.rosenbrock`).

    - :meth:`refresh` evaluates J (:class:`FieldJacobian`) and builds a
      :class:`JacobianSolver` (its LUs are kept per distinct h a_ii until the next refresh);
    - :meth:`judge` marks J stale after a step rejected on a J older than the step's start,
      after an accepted step on such a J whose error ratio exceeds :data:`STALE_RATIO`, and
      after :data:`REFRESH_EVERY` accepted steps;
    - :meth:`quantise` keeps h while the controller asks for growth below :data:`KEEP_BAND`
      (and J is not about to be refreshed), else rounds down to a power of sqrt(2).

    With ``every_step`` (a Rosenbrock method that is not a W-method, e.g. Rodas: its order
    needs the exact J of the step's start) J is refreshed after every accepted step and the
    controller's h is taken as it is (each step factorises anew anyway).

    Args:
        f: f(t, y) on states ``[N, D]`` / ``[B, N, D]``.
        op: the split's L (for the graph pattern: :func:`field_adjacency`).
        sign: -1 for a reverse-time solve (the solver then uses -J).
        stats: the :class:`~pde2gnn.integrate.linsolve.SolveStats` to count in.
        rtol, atol, maxiter: passed to the solver.
        every_step: refresh J at every step (see above).
    """

    def __init__(self, f, op, sign: float, stats, rtol: float, atol: float, maxiter: int,
                 every_step: bool = False):
        self.every_step = every_step
        adjacency, depth, self.width = field_adjacency(op)
        self.flat = self.width == 1 and not hasattr(op, "i")   # a MatrixOperator: y flattened
        self.f, self.sign, self.stats = f, sign, stats
        self.kw = dict(rtol=rtol, atol=atol, maxiter=maxiter, stats=stats, sign=sign)
        self.jac = FieldJacobian(self._f_nodes, adjacency, depth, self.width)
        self.solver: Optional[JacobianSolver] = None
        self.perm: Optional[np.ndarray] = None
        self.shape = None
        self.age, self.stale, self.evaluations = 0, True, 0

    def _f_nodes(self, t: Tensor, y: Tensor) -> Tensor:
        """f on the Jacobian's node layout (``[..., n, 1]`` for a flattened state)."""
        if not self.flat:
            return self.f(t, y)
        return self.f(t, y.reshape(*y.shape[:-2], *self.shape)).reshape(y.shape)

    def refresh(self, t: Tensor, y: Tensor) -> "JacobianSolver":
        """Evaluate J at (t, y) (original time t, y ``[N, D]``); returns the new solver.

        Raises:
            OptionError: y off the CPU (SuperLU)."""
        if y.device.type != "cpu":
            raise OptionError("methods on the whole Jacobian (ark3j, ark4j, ros34pw2, rodas) "
                              "factorise it with SuperLU, on the CPU: use ark3 or ark4 "
                              "(matrix-free) on other devices")
        self.shape = tuple(y.shape[-2:])
        with torch.no_grad():
            J = self.jac(t, y.reshape(-1, 1) if self.flat else y)
        self.evaluations += 1
        self.age, self.stale = 0, False
        if self.perm is None:
            perm = nested_dissection(self.jac.pattern_t)
            if perm is not None and not self.flat and self.width > 1:   # nodes -> entries
                perm = (perm[:, None] * self.width + np.arange(self.width)).reshape(-1)
            self.perm = perm
        self.solver = JacobianSolver(J, self.perm, y, 1 if self.flat else self.width,
                                     **self.kw)
        return self.solver

    def judge(self, accepted: bool, ratio: float) -> None:
        """Told the outcome of a step on the current J (error ratio ``ratio``)."""
        if accepted:
            self.age += 1
            self.stale = self.every_step or self.age >= REFRESH_EVERY or \
                (self.age > 1 and ratio > STALE_RATIO)
        elif self.age > 0:          # rejected on a J from an earlier state: refresh it
            self.stale = True

    def quantise(self, h: float, new: float) -> float:
        """The next step size from the controller's ``new`` (see the class)."""
        if self.every_step:
            return new
        if h <= new < KEEP_BAND * h and not self.stale:
            return h
        return 2.0 ** (math.floor(2 * math.log2(new)) / 2)
