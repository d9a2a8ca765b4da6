"""The CSR sparse product as a torch custom operator (``torch.ops.pde2gnn.csr_mm``).

``torch.compile`` cannot create sparse tensors inside a traced region. A custom operator is
opaque to the tracer: the compiled graph calls it as one external kernel (torch's CSR product,
the same as the eager path's) and fuses the node-wise arithmetic around it. The CSR structure
(``crow``, ``col``, and the transposed structure for the backward pass) is built outside, once
per graph (:class:`pde2gnn.compiler.backend.graph_ops.GraphOps`), and passed in as tensors; gradients
are the eager path's (:class:`pde2gnn.compiler.backend.csr._CSRMatmul`): the transposed product
for x and the sampled dense-dense product (SDDMM) on A's pattern for the values.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _csr(crow: Tensor, col: Tensor, values: Tensor) -> Tensor:
    n = crow.numel() - 1
    return torch.sparse_csr_tensor(crow, col, values, (n, n), check_invariants=False)


@torch.library.custom_op("pde2gnn::csr_mm", mutates_args=())
def csr_mm(crow: Tensor, col: Tensor, t_crow: Tensor, t_col: Tensor, t_perm: Tensor,
           values: Tensor, x: Tensor) -> Tensor:
    """``A @ x``: A ``[N, N]`` with ``values [nnz]`` on the CSR pattern (``crow [N + 1]``,
    ``col [nnz]``), x ``[N, c]`` -> ``[N, c]``. ``t_crow``, ``t_col`` are the pattern of A^T
    and ``t_perm [nnz]`` maps its entries to A's (for the gradient with respect to x)."""
    return _csr(crow, col, values) @ x


@csr_mm.register_fake
def _(crow, col, t_crow, t_col, t_perm, values, x):
    return x.new_empty((crow.shape[0] - 1, x.shape[1]))


@torch.library.custom_op("pde2gnn::csr_sddmm", mutates_args=())
def csr_sddmm(crow: Tensor, col: Tensor, values: Tensor, g: Tensor, x: Tensor) -> Tensor:
    """``(g @ x^T)`` sampled at A's non-zeros ``[nnz]`` (``values`` gives the pattern's dtype
    and size only): the gradient of ``A @ x`` with respect to A's values."""
    return torch.sparse.sampled_addmm(_csr(crow, col, values), g.contiguous(), x.t(),
                                      beta=0.0).values()


@csr_sddmm.register_fake
def _(crow, col, values, g, x):
    return values.new_empty(values.shape)


def _setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _backward(ctx, g):
    crow, col, t_crow, t_col, t_perm, values, x = ctx.saved_tensors
    gv = gx = None
    if ctx.needs_input_grad[5]:
        gv = csr_sddmm(crow, col, values, g, x)
    if ctx.needs_input_grad[6]:
        back = torch.empty_like(t_perm).scatter_(0, t_perm, torch.arange(
            t_perm.numel(), device=t_perm.device))     # A^T's entries -> A's: the inverse
        gx = csr_mm(t_crow, t_col, crow, col, back, values.index_select(0, t_perm), g)
    return None, None, None, None, None, gv, gx


csr_mm.register_autograd(_backward, setup_context=_setup)
