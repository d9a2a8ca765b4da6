"""Dense output of the implicit / IMEX / Rosenbrock loops: the cubic Hermite interpolant
through y0, y1 and their slopes f0, f1 (third order; Hairer, Norsett & Wanner I, sec. II.6)."""
from __future__ import annotations

from torch import Tensor

from pde2gnn.integrate.rk import stage_sum


def hermite(x: float, h: float, y0: Tensor, y1: Tensor, f0: Tensor, f1: Tensor) -> Tensor:
    """Cubic Hermite interpolant at s0 + x h through y0, y1 with slopes f0, f1."""
    h00 = 2 * x ** 3 - 3 * x ** 2 + 1
    h10 = x ** 3 - 2 * x ** 2 + x
    h01 = -2 * x ** 3 + 3 * x ** 2
    h11 = x ** 3 - x ** 2
    return stage_sum(None, [h00, h01, h * h10, h * h11], [y0, y1, f0, f1])
