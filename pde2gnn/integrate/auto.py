"""``method = "auto"``: dopri5, ark3 (IMEX on the compiler's split) or ros34pw2 (Rosenbrock-W
on the whole Jacobian), chosen from cheap measurements before the solve.

An explicit method is stable while h rho(J) stays inside its stability region (about 3.3 for
dopri5 on the negative real axis), so over a time span T it needs at least rho(J) T / 3.3 steps
whatever the tolerance; a stiffly accurate implicit method takes steps sized by accuracy. The
rule, with stiffness s = rho T and :data:`~pde2gnn.integrate.solver_config.AUTO_STIFF` = 200:

1. rho(L), the spectral radius of the split's linear part, and rho(J_N), that of the Jacobian
   of the remainder N = f - L y at (t0, y0) (0 for an affine field), each by at most 20 power
   iterations, stopped once the estimate has settled to about 10 % (products with L;
   Jacobian-vector products of N by forward differences: one evaluation of N each);
2. max(s_L, s_N) <= 200: not stiff, ``dopri5``;
3. s_N <= 200 (the stiffness is in L, N's share small): ``ark3`` (L implicit, solved
   matrix-free or factorised once per step size; N explicit, within its stability bound);
4. s_N > 200 (N stiff too, e.g. ``lap(c^3)`` of Cahn-Hilliard): ``ros34pw2``, which takes the
   whole Jacobian implicitly, where it can: the state is on the CPU (SuperLU) and the graph has
   no hubs (the Jacobian's node pattern (A + I)^depth has no row over
   :data:`HUB_ENTRIES` entries: a hub makes its coloured probing and its LU dense); else
   ``ark3``, whose step is then bounded by N's stability (logged).

Power iterations give a lower bound of rho that is within a factor of about 2 after 20
iterations for graph Laplacians; the threshold 200 leaves that margin.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from pde2gnn.integrate.solver_config import AUTO_STIFF

#: a row of the Jacobian's node pattern with more entries than this marks a graph with hubs
HUB_ENTRIES = 512


#: power iterations stop when the estimate changed by at most this fraction in the last
#: iteration: for a convergence factor r <= 0.9 per iteration the remaining error is then at most
#: 0.01 / (1 - r) = 10 % (the threshold AUTO_STIFF has a margin of 2)
SETTLED = 0.01


@torch.no_grad()
def spectral_radius(linear, like: Tensor, iterations: int = 20, seed: int = 0,
                    settled: float = SETTLED) -> float:
    """Estimate of the spectral radius of the linear map ``linear`` (on tensors of ``like``'s
    shape) by power iterations from a seeded random vector: ||L^k v|| / ||L^(k-1) v||, a lower
    bound for a normal L that converges to rho for a dominant eigenvalue (within a factor of
    about 2 after 20 iterations for graph Laplacians).

    Stops after ``iterations`` products, or earlier once the estimate has settled (changed by at
    most ``settled`` of itself in the last of at least 3 iterations; ``settled = 0``: all
    ``iterations``). The products taken are in ``spectral_radius.products``.
    """
    g = torch.Generator(device="cpu").manual_seed(seed)
    v = torch.randn(like.shape, generator=g, dtype=like.dtype).to(like.device)
    v = v / v.norm()
    rho = prev = 0.0
    spectral_radius.products = 0
    for k in range(iterations):
        w = linear(v)
        spectral_radius.products += 1
        rho = float(w.norm())
        if rho == 0.0 or not math.isfinite(rho) or (k >= 2 and abs(rho - prev) <= settled * rho):
            return rho
        v, prev = w / rho, rho
    return rho


spectral_radius.products = 0


def rest_jacobian(field, t: Tensor, y: Tensor):
    """v -> J_N(t, y) v, J_N the Jacobian of the field's remainder N = f - L y, by a forward
    difference (N(y + e v) - N(y)) / e with e = sqrt(u) (1 + |y|) / |v| (u the unit roundoff;
    the choice of Jacobian-free Newton-Krylov: Knoll & Keyes, J. Comput. Phys. 193 (2004)
    357-397, eq. (11)): one evaluation of N per product, no reverse pass, relative accuracy
    about sqrt(u) (3e-4 in float32), ample for a 10 % estimate. ``torch.func.jvp`` cannot run
    the generated kernels (their autograd Functions have no forward-mode rule). ``y``
    ``[N, D]``."""
    y = y.detach()
    with torch.enable_grad():   # a field prepared from a y(0) that requires grad needs autograd
        n0 = field.rest(t, y).detach()
    scale = math.sqrt(torch.finfo(y.dtype).eps) * (1.0 + float(y.norm()))

    def apply(v: Tensor) -> Tensor:
        e = scale / max(float(v.norm()), 1e-300)
        with torch.enable_grad():
            n1 = field.rest(t, y + e * v).detach()
        return (n1 - n0) / e
    return apply


def has_hubs(field) -> bool:
    """Whether a row of the Jacobian's starting node pattern (A + I)^depth has more than
    :data:`HUB_ENTRIES` entries (the graph's one hop, L's depth)."""
    from pde2gnn.compiler.backend.split import node_pattern
    g = field.graph
    p = node_pattern(np.asarray(g.i.cpu()), np.asarray(g.j.cpu()), g.num_nodes,
                     field._split_depth)
    return int(np.diff(p.indptr).max(initial=0)) > HUB_ENTRIES


@dataclass(frozen=True)
class AutoChoice:
    """The measurements and the method ``auto`` picked (see the module)."""

    method: str
    rho_linear: float
    rho_rest: float
    span: float
    hubs: bool
    reason: str
    products: int = 0       # products with L taken by the estimate
    evaluations: int = 0    # evaluations of N taken by the estimate (forward differences)

    def __iter__(self):         # (method, rho(L), span), as ODEBlock.auto_choice was
        return iter((self.method, self.rho_linear, self.span))

    def __getitem__(self, k):
        return tuple(self)[k]


def choose(field, y0: Tensor, t0: float, t1: float) -> AutoChoice:
    """The method for a solve of the prepared ``field`` from ``y0`` ``[N, D]`` over [t0, t1]
    (see the module for the rule)."""
    span = abs(t1 - t0)
    rho_l = spectral_radius(field.linear, y0.detach())
    products = spectral_radius.products
    tt = torch.full((), t0, dtype=y0.dtype, device=y0.device)
    rho_n = 0.0 if field.affine else \
        spectral_radius(rest_jacobian(field, tt, y0), y0.detach())
    evaluations = 0 if field.affine else spectral_radius.products + 1
    s_l, s_n = rho_l * span, rho_n * span
    stiff = f"rho(L) T = {s_l:.3g}, rho(J_N) T = {s_n:.3g}"
    hubs = False
    if max(s_l, s_n) <= AUTO_STIFF:
        method, why = "dopri5", f"{stiff}, both <= {AUTO_STIFF:g}: not stiff"
    elif s_n <= AUTO_STIFF:
        method, why = "ark3", f"{stiff}: the stiffness is in L (N's <= {AUTO_STIFF:g})"
    elif y0.device.type != "cpu":
        method, why = "ark3", f"{stiff}: N is stiff, but ros34pw2 factorises on the CPU only"
    else:
        hubs = has_hubs(field)
        method, why = ("ark3", f"{stiff}: N is stiff, but the graph has hubs (a Jacobian "
                       f"row over {HUB_ENTRIES} entries)") if hubs else \
            ("ros34pw2", f"{stiff}: N is stiff (> {AUTO_STIFF:g}): the whole Jacobian")
    return AutoChoice(method, rho_l, rho_n, span, hubs, why, products, evaluations)
