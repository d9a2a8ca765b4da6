"""Constraints on learnable tensors, as explicit parametrisations (torch.nn.utils.parametrize).

Each maps an unconstrained tensor to one that satisfies the constraint exactly, so the constraint
holds after every optimiser step; ``right_inverse`` lets an initial constrained value be assigned.

=========  ============================================  ==================================
name       parametrisation                               paper
=========  ============================================  ==================================
sym        (W + W^T) / 2                                 GRAFF (Di Giovanni et al. 2022)
diag       diag(a), the raw parameter a [d]              GRAFF-D
positive   softplus(W)                                   --
psd        B B^T                                         --
antisym    A - A^T                                       A-DGN (Gravina et al., ICLR 2023)
diag_dom   W0 + diag(q * rowsum|W0| + r), W0 symmetric   GRAFF-DD (section 5 / appendix)
           with zero diagonal; q, r learnable vectors
=========  ============================================  ==================================
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize


class Symmetric(nn.Module):
    def forward(self, w: Tensor) -> Tensor:
        return 0.5 * (w + w.transpose(-1, -2))

    def right_inverse(self, w: Tensor) -> Tensor:
        return w


class Diagonal(nn.Module):
    """``W = diag(a)``: the raw parameter is the diagonal ``a`` itself ``[d]`` (no unused
    off-diagonal entries to store, count and optimise); ``right_inverse`` keeps the diagonal
    of an assigned ``[d, d]`` value."""

    def forward(self, a: Tensor) -> Tensor:
        return torch.diag_embed(a)

    def right_inverse(self, w: Tensor) -> Tensor:
        return torch.diagonal(w, dim1=-2, dim2=-1).clone()


class Positive(nn.Module):
    def forward(self, w: Tensor) -> Tensor:
        return nn.functional.softplus(w)

    def right_inverse(self, w: Tensor) -> Tensor:
        w = w.clamp(min=1e-6)
        return w + torch.log(-torch.expm1(-w))


class PSD(nn.Module):
    def forward(self, b: Tensor) -> Tensor:
        return b @ b.transpose(-1, -2)

    def right_inverse(self, w: Tensor) -> Tensor:
        evals, evecs = torch.linalg.eigh(0.5 * (w + w.transpose(-1, -2)))
        return evecs * evals.clamp(min=0).sqrt().unsqueeze(-2)


class AntiSymmetric(nn.Module):
    """``W = A - A^T`` (A-DGN, Gravina et al. 2023, eq. 5: the antisymmetric part of the
    weight, whose eigenvalues are purely imaginary). ``right_inverse`` maps an antisymmetric W
    to A = W / 2, so assigning it reproduces it; assigning a general W gives its antisymmetric
    part (W - W^T) / 2."""

    def forward(self, a: Tensor) -> Tensor:
        return a - a.transpose(-1, -2)

    def right_inverse(self, w: Tensor) -> Tensor:
        return 0.5 * w


class DiagonallyDominant(nn.Module):
    """GRAFF-DD: ``W = W0 + diag(q * rowsum|W0| + r)``, W0 = off-diagonal part of (A + A^T) / 2.

    The raw tensor A ``[d, d]`` is the module's parameter; ``q`` and ``r`` ``[d]`` are parameters
    of this parametrisation (so they appear in ``model.parameters()``). W is symmetric exactly;
    with q >= 1 and r >= 0 it is diagonally dominant. Initialised q = 1, r = 0 (then W has
    non-negative real spectrum pushed by the Gershgorin bound), and ``right_inverse`` adjusts r
    so that assigning a symmetric W reproduces it.
    """

    def __init__(self, n: int):
        super().__init__()
        self.q = nn.Parameter(torch.ones(n))
        self.r = nn.Parameter(torch.zeros(n))

    def _off(self, a: Tensor) -> Tensor:
        w0 = 0.5 * (a + a.transpose(-1, -2))
        return w0 - torch.diag_embed(torch.diagonal(w0, dim1=-2, dim2=-1))

    def forward(self, a: Tensor) -> Tensor:
        w0 = self._off(a)
        return w0 + torch.diag_embed(self.q * w0.abs().sum(-1) + self.r)

    def right_inverse(self, w: Tensor) -> Tensor:
        w0 = self._off(w)
        with torch.no_grad():
            self.r.copy_(torch.diagonal(w, dim1=-2, dim2=-1) - self.q * w0.abs().sum(-1))
        return w0


PARAMETRIZATIONS = {"sym": Symmetric, "diag": Diagonal, "positive": Positive, "psd": PSD,
                    "antisym": AntiSymmetric, "diag_dom": DiagonallyDominant}


class Learnable(nn.Module):
    """Holder of one learnable tensor ``value`` with its constraints applied by parametrisation.

    Args:
        init: the initial (constrained) value.
        constraints: names from :data:`PARAMETRIZATIONS`, applied in order.
    """

    def __init__(self, init: Tensor, constraints=()):
        super().__init__()
        self.constraints = tuple(constraints)
        self.value = nn.Parameter(init.clone())
        for c in self.constraints:
            cls = PARAMETRIZATIONS[c]
            module = cls(init.shape[-1]) if cls is DiagonallyDominant else cls()
            parametrize.register_parametrization(self, "value", module)
        if self.constraints:
            with torch.no_grad():
                self.value = init.clone()
