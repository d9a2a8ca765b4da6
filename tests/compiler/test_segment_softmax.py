"""GraphOps' segment softmax (torch only, so the compiler needs no torch_geometric) against
torch_geometric.utils.softmax, which it replaced: values and gradients, with empty segments,
large logits and a leading batch axis."""
import pytest
import torch
from torch_geometric.utils import softmax as pyg_softmax

from pde2gnn.compiler.backend.graph_ops import segment_softmax


@pytest.mark.parametrize("shape", [(40, 3), (2, 40, 3)])
def test_equals_torch_geometric(shape):
    g = torch.Generator().manual_seed(0)
    n = 9                                        # nodes 7, 8 receive no entry: empty segments
    index = torch.randint(0, 7, (shape[-2],), generator=g)
    e = (30 * torch.randn(shape, generator=g, dtype=torch.float64)).requires_grad_()
    dim = len(shape) - 2
    ours = segment_softmax(e, index, n, dim)
    ref = pyg_softmax(e, index, num_nodes=n, dim=dim)
    # both are exp(e - max) / sum: one rounding of exp and of the division apart at most
    tol = 8 * torch.finfo(e.dtype).eps
    assert torch.allclose(ours, ref, rtol=tol, atol=tol)
    w = torch.randn(shape, generator=g, dtype=torch.float64)
    ga, = torch.autograd.grad((ours * w).sum(), e)
    gb, = torch.autograd.grad((ref * w).sum(), e)
    assert torch.allclose(ga, gb, rtol=1e3 * tol, atol=1e3 * tol * gb.abs().max().item())
    sums = torch.zeros(shape[:-2] + (n, shape[-1]), dtype=e.dtype).index_add(dim, index, ours)
    present = torch.bincount(index, minlength=n) > 0
    assert torch.allclose(sums[..., present, :], torch.ones_like(sums[..., present, :]),
                          atol=tol * 10)
