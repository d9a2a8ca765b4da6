"""Constraints on learnable tensors, as explicit parametrisations (torch.nn.utils.parametrize).

Each maps an unconstrained tensor to one that satisfies the constraint exactly, so the constraint
holds after every optimiser step; ``right_inverse`` lets an initial constrained value be assigned.

=========  ============================================  ==================================
name       parametrisation                               paper
=========  ============================================  ==================================
sym        (W + W^T) / 2                                 GRAFF (Di Giovanni et al. 2022)
diag       diag(diagonal(W))                             GRAFF-D
positive   softplus(W)                                   --
psd        B B^T                                         --
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
    def forward(self, w: Tensor) -> Tensor:
        return torch.diag_embed(torch.diagonal(w, dim1=-2, dim2=-1))

    def right_inverse(self, w: Tensor) -> Tensor:
        return w


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


PARAMETRIZATIONS = {"sym": Symmetric, "diag": Diagonal, "positive": Positive, "psd": PSD}


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
            parametrize.register_parametrization(self, "value", PARAMETRIZATIONS[c]())
        if self.constraints:
            with torch.no_grad():
                self.value = init.clone()
