"""Linear solves of the implicit stages: (I - g L) x = b, g = h a_ii, L the split's operator.

- ``cg``: Jacobi-preconditioned conjugate gradients (Hestenes & Stiefel 1952) for symmetric L
  with I - g L positive definite (heat, GRAFF's symmetric part, bi-Laplacians); a breakdown
  (p^T M p <= 0: the matrix is not positive definite) hands over to GMRES.
- ``gmres``: restarted GMRES (Saad & Schultz, SIAM J. Sci. Stat. Comput. 7 (1986) 856-869)
  with the Jacobi preconditioner on the right, for non-symmetric or indefinite systems.
- ``direct``: on the CPU, scipy's sparse LU (SuperLU, ``scipy.sparse.linalg.splu``, minimum
  degree on A^T + A in symmetric mode) of the probed CSR matrix, reused while g is unchanged.
- ``auto``: direct on the CPU when L's matrix is available and has at most 2 million entries,
  else CG for symmetric L, else GMRES.

``cg`` and ``gmres`` run matrix-free on any device (products with L only: nothing is probed,
which matters when L has learnable weights and changes every solve); ``auto`` runs scipy's
iterations on L's probed matrix on the CPU when it is too large to factorise. Gradients through
a solve are implicit (:func:`attach`): one solve with (I - g L)^T in the backward pass, never a
backward pass through the iterations.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from pde2gnn.errors import OptionError, SolverError
from pde2gnn.integrate.blocklu import factorise
from pde2gnn.integrate.step_failure import LinearSolveFailure

from pde2gnn.integrate.solver_config import LINEAR_SOLVERS  # noqa: E402,F401

@dataclass
class SolveStats:
    """Counts of one integration: ``products`` with L, ``iterations`` of the iterative
    solvers, ``solves`` and ``factorizations``."""

    products: int = 0
    iterations: int = 0
    solves: int = 0
    factorizations: int = 0


def _dot(a: Tensor, b: Tensor) -> float:
    return float(torch.sum(a * b))


def cg(apply: Callable[[Tensor], Tensor], b: Tensor, x: Tensor, inv_diag: Optional[Tensor],
       tol: float, maxiter: int) -> Tuple[Tensor, int, float, bool]:
    """Preconditioned CG for M x = b (M symmetric positive definite).

    Returns ``(x, iterations, residual norm, ok)``; ``ok`` False after a breakdown (M not
    positive definite), with the last iterate."""
    r = b - apply(x)
    z = r * inv_diag if inv_diag is not None else r
    p = z.clone()
    rz = _dot(r, z)
    res = math.sqrt(_dot(r, r))
    for k in range(maxiter):
        if res <= tol:
            return x, k, res, True
        mp = apply(p)
        pmp = _dot(p, mp)
        if not pmp > 0:
            return x, k, res, False
        alpha = rz / pmp
        x = x + alpha * p
        r = r - alpha * mp
        res = math.sqrt(_dot(r, r))
        z = r * inv_diag if inv_diag is not None else r
        rz_new = _dot(r, z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x, maxiter, res, res <= tol


def gmres(apply: Callable[[Tensor], Tensor], b: Tensor, x: Tensor, inv_diag: Optional[Tensor],
          tol: float, maxiter: int, restart: int = 40,
          give_up: bool = False) -> Tuple[Tensor, int, float, bool]:
    """Restarted GMRES(restart) for M x = b with right Jacobi preconditioning.

    ``give_up``: stop early, unconverged, when the residual's reduction over the last restart
    cycle, extrapolated, would not reach ``tol`` within twice the iterations left (a stall;
    the adaptive loops then shrink the step instead of spending ``maxiter`` products).

    Returns ``(x, iterations, residual norm, converged)``."""
    prec = (lambda v: v * inv_diag) if inv_diag is not None else (lambda v: v)
    its = 0
    r = b - apply(x)
    beta = math.sqrt(_dot(r, r))
    last = math.inf
    while its < maxiter:
        if beta <= tol:
            return x, its, beta, True
        if give_up and last < math.inf:
            rate = beta / last          # per restart cycle
            if rate >= 1 or restart * math.log(tol / beta) / math.log(rate) > \
                    2 * (maxiter - its):
                return x, its, beta, False
        last = beta
        V = [r / beta]
        H = np.zeros((restart + 1, restart))
        g = np.zeros(restart + 1)
        g[0] = beta
        cs, sn = np.zeros(restart), np.zeros(restart)
        k = 0
        for k in range(restart):
            its += 1
            w = apply(prec(V[k]))
            for i in range(k + 1):           # modified Gram-Schmidt
                H[i, k] = _dot(w, V[i])
                w = w - H[i, k] * V[i]
            H[k + 1, k] = hk1 = math.sqrt(_dot(w, w))
            for i in range(k):               # earlier Givens rotations
                t = cs[i] * H[i, k] + sn[i] * H[i + 1, k]
                H[i + 1, k] = -sn[i] * H[i, k] + cs[i] * H[i + 1, k]
                H[i, k] = t
            den = math.hypot(H[k, k], H[k + 1, k])
            cs[k], sn[k] = (1.0, 0.0) if den == 0 else (H[k, k] / den, H[k + 1, k] / den)
            H[k, k] = cs[k] * H[k, k] + sn[k] * H[k + 1, k]
            H[k + 1, k] = 0.0
            g[k + 1] = -sn[k] * g[k]
            g[k] = cs[k] * g[k]
            if abs(g[k + 1]) <= tol or its >= maxiter or hk1 == 0:
                break
            V.append(w / hk1)
        m = k + 1
        y = np.linalg.solve(np.triu(H[:m, :m]) + np.eye(m) * (np.diag(H[:m, :m]) == 0),
                            g[:m])
        dx = sum(float(y[i]) * V[i] for i in range(m))
        x = x + prec(dx)
        r = b - apply(x)
        beta = math.sqrt(_dot(r, r))
    return x, its, beta, beta <= tol


@dataclass
class StageSolver:
    """Solves (I - g L) x = b for the stages of one integration.

    Args:
        op: L (a :class:`pde2gnn.compiler.backend.split.SplitOperator` or anything with ``apply``,
            ``apply_t``, ``diag()``, ``matrix()``, ``is_symmetric()``).
        method: one of :data:`LINEAR_SOLVERS`.
        rtol, atol: a solve stops when ||b - M x|| <= rtol ||b|| + atol sqrt(n) (2-norms).
        maxiter: iterations of CG / GMRES before :class:`SolverError`.
        stats: where products, iterations, solves and factorizations are counted.
        sign: -1 for a reverse-time solve (L is then -L).

    Raises:
        OptionError: an unknown method, or ``direct`` where no matrix is available.
    """

    op: object
    method: str = "auto"
    rtol: float = 1e-10
    atol: float = 1e-12
    maxiter: int = 2000
    stats: SolveStats = field(default_factory=SolveStats)
    sign: float = 1.0
    #: GMRES stops at a stall (:func:`gmres`'s ``give_up``): set by the adaptive loops, which
    #: then shrink the step (not in the transposed solves of a backward pass: nothing to shrink)
    give_up: bool = False
    #: with ``give_up``: at most this many iterations (None: ``maxiter``) before the step is
    #: rejected and retried smaller (:data:`pde2gnn.integrate.step_failure.ADAPTIVE_MAXITER`)
    adaptive_maxiter: Optional[int] = None

    def __post_init__(self):
        if self.method not in LINEAR_SOLVERS:
            raise OptionError(f"unknown linear_solver '{self.method}' (choose from "
                              f"{', '.join(LINEAR_SOLVERS)})")
        self._lu: Dict[float, object] = {}
        self._kind = None

    def L(self, y: Tensor) -> Tensor:
        self.stats.products += 1
        out = self.op.apply(y)
        return out if self.sign == 1.0 else -out

    def Lt(self, y: Tensor) -> Tensor:
        self.stats.products += 1
        out = self.op.apply_t(y)
        return out if self.sign == 1.0 else -out

    def kind(self, like: Tensor) -> str:
        """The solver actually used (``auto`` resolved on the first call)."""
        if self._kind is None:
            kind = self.method
            if kind in ("auto", "direct"):
                m = self.op.matrix() if like.device.type == "cpu" else None
                if m is None and kind == "direct":
                    raise OptionError("linear_solver 'direct' needs L's sparse matrix on the "
                                      "CPU (probing it would take too many products here): "
                                      "use linear_solver 'cg' or 'gmres'")
                if m is not None and (kind == "direct" or m.nnz <= 2_000_000):
                    kind = "direct"
                else:
                    kind = "cg" if self.op.is_symmetric() else "gmres"
            self._kind = kind
        return self._kind

    def _factor(self, g: float):
        import scipy.sparse as sps
        from scipy.sparse.linalg import splu
        g = float(f"{g:.12g}")      # steps of one grid differ in the last bits
        if g not in self._lu:
            if len(self._lu) >= 8:
                self._lu.clear()
            m = self.op.matrix()
            a = sps.identity(m.shape[0], format="csc") - (self.sign * g) * m.tocsc()
            # SuperLU's setting for a symmetric pattern (graph operators): minimum degree on
            # A^T + A, kept by SymmetricMode, pivots on the diagonal unless it is below 0.1 of
            # its column (threshold pivoting: stable). 1.5-3x faster factorisations and solves
            # than MMD alone on Delaunay meshes and power-law graphs (docs/guide/stiff-solvers.md)
            self._lu[g] = factorise(a, getattr(self.op, "width", 1),
                                    lambda b: splu(b.tocsc(), permc_spec="MMD_AT_PLUS_A",
                                                   diag_pivot_thresh=0.1,
                                                   options=dict(SymmetricMode=True)))
            self.stats.factorizations += getattr(self._lu[g], "factorizations", 1)
        return self._lu[g]

    def _raw(self, g: float, b: Tensor, x0: Optional[Tensor], transpose: bool,
             where: str) -> Tensor:
        """x with (I - g L) x = b (or the transpose), without autograd."""
        self.stats.solves += 1
        kind = self.kind(b)
        if kind == "direct":
            try:
                lu = self._factor(g)
            except RuntimeError as e:       # SuperLU: "Factor is exactly singular"
                raise LinearSolveFailure(
                    f"the sparse LU of I - g L (g = {g:.3g}) of an implicit stage {where} "
                    f"failed: {e}; reduce rtol/atol (smaller steps) or choose another method "
                    "or linear_solver") from None
            shape = b.shape
            rhs = b.detach().reshape(-1, shape[-2] * shape[-1]).T.cpu().numpy()
            x = lu.solve(np.ascontiguousarray(rhs, dtype=np.float64),
                         trans="T" if transpose else "N")
            return torch.as_tensor(x.T, dtype=b.dtype).reshape(shape)
        # auto with a large probed matrix: scipy's iterations on it; an explicit cg / gmres
        # runs matrix-free (no probing: L with learnable weights changes every solve)
        m = self.op.matrix() if b.device.type == "cpu" and self.method == "auto" else None
        if m is not None:
            return self._scipy(kind, g, m, b, x0, transpose, where)
        apply_l = self.Lt if transpose else self.L
        apply = lambda v: v - g * apply_l(v)     # noqa: E731
        d = (1.0 - g * self.sign * self.op.diag()).reshape(b.shape[-2:]).to(b)
        inv_diag = None if not bool((d > 0).all()) else 1.0 / d
        b = b.detach()
        x = b.clone() if x0 is None else x0.detach().clone()
        tol = self.rtol * math.sqrt(_dot(b, b)) + self.atol * math.sqrt(b.numel())
        give_up = self.give_up and not transpose
        cap = min(self.maxiter, self.adaptive_maxiter or self.maxiter) if give_up \
            else self.maxiter
        if kind == "cg":
            x, its, res, ok = cg(apply, b, x, inv_diag, tol, cap)
            self.stats.iterations += its
            if not ok and its < cap:      # not positive definite: GMRES from here
                x, its2, res, ok = gmres(apply, b, x, inv_diag, tol, cap - its,
                                         give_up=give_up)
                self.stats.iterations += its2
        else:
            x, its, res, ok = gmres(apply, b, x, inv_diag, tol, cap, give_up=give_up)
            self.stats.iterations += its
        if not ok:
            raise LinearSolveFailure(
                f"the linear solve ({kind}) of an implicit stage {where} did not converge "
                f"(linear_maxiter {self.maxiter}; {cap} iterations at most here): residual {res:.3g} against {tol:.3g} (|b| = "
                f"{math.sqrt(_dot(b, b)):.3g}); raise linear_maxiter, loosen rtol/atol, or "
                "choose another linear_solver", res, tol)
        return x

    def _scipy(self, kind, g, m, b, x0, transpose, where):
        """CG / GMRES of scipy.sparse.linalg on the probed CSR matrix (CPU): the same
        iterations as the torch versions, with scipy's sparse products."""
        import scipy.sparse as sps
        from scipy.sparse.linalg import LinearOperator, cg as sp_cg, gmres as sp_gmres
        key = ("M", float(f"{g:.12g}"), transpose)
        if key not in self._lu:
            if len(self._lu) >= 8:
                self._lu.clear()
            a = sps.identity(m.shape[0], format="csr") - (self.sign * g) * (m.T if transpose
                                                                              else m)
            d = a.diagonal()
            pre = None if not (d > 0).all() else LinearOperator(a.shape, matvec=lambda v: v / d)
            self._lu[key] = (a.tocsr(), pre)
        a, pre = self._lu[key]
        shape = b.shape
        cols = b.detach().reshape(-1, shape[-2] * shape[-1]).cpu().numpy()
        guess = None if x0 is None else x0.detach().reshape(cols.shape).cpu().numpy()
        out = np.empty_like(cols)
        for c in range(cols.shape[0]):
            its = [0]

            def count(_):
                its[0] += 1
            rhs = cols[c]
            tol = self.rtol * np.linalg.norm(rhs) + self.atol * math.sqrt(rhs.size)
            kw = dict(x0=None if guess is None else guess[c], rtol=0.0, atol=tol,
                      maxiter=self.maxiter, M=pre, callback=count)
            restart = min(40, self.maxiter)    # scipy's gmres counts restarts in maxiter
            gkw = dict(kw, restart=restart, maxiter=max(1, self.maxiter // restart),
                       callback_type="pr_norm")
            if kind == "cg":
                x, info = sp_cg(a, rhs, **kw)
                if info != 0:      # not positive definite, or not converged: GMRES
                    x, info = sp_gmres(a, rhs, **gkw)
            else:
                x, info = sp_gmres(a, rhs, **gkw)
            self.stats.iterations += its[0]
            self.stats.products += its[0]
            if info != 0:
                res = float(np.linalg.norm(rhs - a @ x))
                raise LinearSolveFailure(
                    f"the linear solve ({kind}) of an implicit stage {where} did not converge "
                    f"in {self.maxiter} iterations: residual {res:.3g} against {tol:.3g}; raise "
                    "linear_maxiter, loosen rtol/atol, or choose another linear_solver", res, tol)
            out[c] = x
        return torch.as_tensor(out, dtype=b.dtype).reshape(shape)

    def solve(self, g: float, b: Tensor, x0: Optional[Tensor] = None, where: str = "") -> Tensor:
        """x with (I - g L) x = b; differentiable in b and in L's weights by implicit
        differentiation when autograd is on (:func:`attach`)."""
        with torch.no_grad():
            x = self._raw(g, b, x0, False, where)
        if not torch.is_grad_enabled():
            return x
        # r = b - (x - g L x): zero in value, carries d/db and d/dL (through linear's weights)
        r = b - (x - g * self.L(x))
        if not r.requires_grad:
            return x
        return _Attach.apply(r, x, self, g, where)


class _Attach(torch.autograd.Function):
    """Returns x*; the gradient g of x* goes to r as (I - g L)^-T g (implicit
    differentiation of r(x, b, theta) = b - (I - g L(theta)) x = 0)."""

    @staticmethod
    def forward(ctx, r, x, solver, g, where):
        ctx.solver, ctx.g, ctx.where = solver, g, where
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        with torch.no_grad():
            lam = ctx.solver._raw(ctx.g, grad, None, True, f"{ctx.where} (backward pass)")
        return lam, None, None, None, None


class MatrixOperator:
    """L given as a scipy sparse (or dense numpy) matrix ``[n, n]`` acting on states
    ``[..., N, D]`` flattened row-major (n = N D): the operator interface of
    :class:`StageSolver` for systems that are not compiled specs (tests, user code).
    ``width`` = D lets the direct solver factorise channel blocks (:mod:`.blocklu`)."""

    def __init__(self, matrix, dtype=torch.float64, device="cpu", width: int = 1):
        import scipy.sparse as sps
        self.m = sps.csr_matrix(matrix, dtype=np.float64)
        self.width, self.dtype, self.device = width, dtype, device
        self._torch: Optional[Tensor] = None

    @property
    def _t(self) -> Tensor:
        """The matrix as a torch sparse tensor, built at the first product in torch (a
        Jacobian solver multiplies with scipy unless a gradient is asked for)."""
        if self._torch is None:
            idx = self.m.tocoo()
            self._torch = torch.sparse_coo_tensor(
                np.vstack([idx.row, idx.col]), idx.data, self.m.shape, dtype=self.dtype,
                device=self.device, check_invariants=False).coalesce()
        return self._torch

    def apply(self, y: Tensor) -> Tensor:
        flat = y.reshape(-1, self.m.shape[0]).T
        return (self._t @ flat).T.reshape(y.shape)

    def apply_t(self, y: Tensor) -> Tensor:
        flat = y.reshape(-1, self.m.shape[0]).T
        return (self._t.t() @ flat).T.reshape(y.shape)

    def diag(self) -> Tensor:
        return torch.as_tensor(self.m.diagonal(), dtype=self.dtype)

    def matrix(self):
        return self.m

    def is_symmetric(self) -> bool:
        return abs(self.m - self.m.T).max() <= 1e-12 * max(abs(self.m).max(), 1e-300)
