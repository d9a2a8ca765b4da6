"""Fully implicit stages with a non-linear N: simplified Newton on the probed sparse Jacobian.

A stage of an implicit method solves G(Y) = Y - g (L Y + N(s, Y)) - rhs = 0. The iteration
Y <- Y - M^-1 G(Y) uses M = I - g (L + J_N), with J_N the Jacobian of N at the start of the
step, estimated by finite differences on coloured probes (Curtis, Powell & Reid 1974, as
scipy's BDF and MATLAB's ode15s do) on L's sparsity pattern, and one sparse LU of M (SuperLU)
per distinct g. The Jacobian is kept across steps and refreshed when Newton converges slowly
(more than 4 iterations) or not at all, as in BDF codes (Shampine & Reichelt, "The MATLAB ODE
suite", SIAM J. Sci. Comput. 18 (1997) 1-22). The residual always uses the true N, so an
out-of-date Jacobian slows the iteration down but does not change its solution.

CPU only (it needs L's probed matrix); no gradients through the iterations (use an IMEX
method for training).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import scipy.sparse as sps
import torch
from scipy.sparse.linalg import splu
from torch import Tensor

from pde2gnn.compiler.backend.split import greedy_colouring, node_pattern
from pde2gnn.errors import OptionError


class NewtonStages:
    """Newton solves of implicit stages for y' = L y + N(s, y) (signs already applied).

    Args:
        run: the IMEX loop's state (``N(s, y)`` counting evaluations, ``solver`` with ``op``,
            ``sign`` and ``stats``).
        rtol, atol: the integration tolerances; Newton stops when the weighted RMS of its
            update is below 0.03 (Hairer & Wanner's kappa * tol).
    """

    def __init__(self, run, rtol: float, atol: float, maxiter: int = 8):
        op = run.solver.op
        if not hasattr(op, "i") or op.matrix() is None:
            raise OptionError("implicit methods on a field whose N depends on the state need "
                              "L's sparse matrix on the CPU (Newton with a probed Jacobian): "
                              "use an IMEX method (ark3, ark4, ars232, ars443)")
        self.run, self.op, self.rtol, self.atol, self.maxiter = run, op, rtol, atol, maxiter
        self.L = op.matrix() * run.sign
        self.pattern = node_pattern(op.i, op.j, op.n, op.depth)
        conflict = (self.pattern.T @ self.pattern).astype(bool).astype(np.int8).tocsr()
        self.colour = greedy_colouring(conflict)
        self.J: Optional[sps.csr_matrix] = None
        self.lu = {}
        self.fresh = False

    def jacobian(self, s: float, y: Tensor) -> None:
        """J = L + J_N(y) by coloured finite differences of N (one batched evaluation)."""
        width, n = self.op.width, self.op.n
        ncol = int(self.colour.max()) + 1
        base = self.run.N(s, y)
        col_t = torch.as_tensor(self.colour)
        eps = math.sqrt(torch.finfo(y.dtype).eps)
        rows, cols, vals = [], [], []
        pr = self.pattern.tocoo()
        for k in range(ncol * width):
            c, ch = divmod(k, width)
            e = torch.zeros_like(y)
            e[..., col_t == c, ch] = 1.0
            step = eps * (1.0 + y.abs())
            dn = ((self.run.N(s, y + step * e) - base) / step).detach().cpu().numpy()
            m = self.colour[pr.col] == c
            pi, pj = pr.row[m], pr.col[m]
            for ci in range(width):
                v = dn.reshape(n, width)[pi, ci]
                keep = v != 0
                rows.append(pi[keep] * width + ci)
                cols.append(pj[keep] * width + ch)
                vals.append(v[keep])
        size = n * width
        jn = sps.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                      np.concatenate(cols))), shape=(size, size))
        self.J = (self.L + jn).tocsr()
        self.lu.clear()
        self.fresh = True

    def _lu(self, g: float):
        key = float(f"{g:.12g}")
        if key not in self.lu:
            if len(self.lu) >= 8:
                self.lu.clear()
            a = sps.identity(self.J.shape[0], format="csc") - g * self.J.tocsc()
            self.lu[key] = splu(a.tocsc(), permc_spec="MMD_AT_PLUS_A")
            self.run.solver.stats.factorizations += 1
        return self.lu[key]

    def _apply_lu(self, g: float, v: Tensor) -> Tensor:
        x = self._lu(g).solve(v.detach().reshape(-1).cpu().numpy().astype(np.float64))
        return torch.as_tensor(x, dtype=v.dtype).reshape(v.shape)

    def filter(self, g: float, err: Tensor) -> Tensor:
        return self._apply_lu(g, err)

    def solve(self, g: float, s: float, rhs: Tensor, guess: Tensor, where: str):
        """Y with Y = rhs + g (L Y + N(s, Y)); returns (Y, N(s, Y)) or None if Newton
        fails twice (the caller then shrinks the step)."""
        for attempt in range(2):
            y = guess.detach().clone()
            prev = None
            for k in range(self.maxiter):
                n = self.run.N(s, y)
                res = rhs + g * (self.run.solver.L(y) + n) - y
                dy = self._apply_lu(g, res)
                y = y + dy
                norm = float(torch.sqrt(torch.mean((dy / (self.atol + self.rtol * y.abs()))
                                                   ** 2)))
                if not math.isfinite(norm) or (prev is not None and norm > 2 * prev):
                    break
                if norm < 0.03:
                    if k > 4 and not self.fresh:
                        self.J = None      # slow: refresh the Jacobian at the next step
                    return y, self.run.N(s, y)
                prev = norm
            if self.fresh:
                return None
            self.jacobian(s, guess)
        return None
