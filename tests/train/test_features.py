"""The sparse-feature encoder (pde2gnn/models/features.py) against the dense linear layer."""
import torch
from torch import nn

from pde2gnn.models.features import _plan, as_model_input, dropout_linear


def _features(n=30, f=20, density=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, f, generator=g, dtype=torch.float64)
    x = x * (torch.rand(n, f, generator=g, dtype=torch.float64) < density)
    x[3] = 0.0                  # a node without features
    x[:, 5] = 0.0               # a feature no node has
    x[7, 5] = 0.0
    return x


def test_sparse_linear_gradients_match_dense_autograd_float64():
    """Output, weight and bias gradients equal the dense layer's in float64 for an arbitrary
    output cotangent (relative to its norm, at rounding level), also with empty rows and
    columns; torch.autograd.gradcheck confirms the custom backward by finite differences."""
    x = _features()
    xs = as_model_input(x)
    lin = nn.Linear(20, 6).double()
    cot = torch.randn(30, 6, dtype=torch.float64)
    dense = lin(x)
    gw, gb = torch.autograd.grad((dense * cot).sum(), (lin.weight, lin.bias))
    sparse = dropout_linear(xs, lin, None)
    sw, sb = torch.autograd.grad((sparse * cot).sum(), (lin.weight, lin.bias))
    for a, b in ((sparse, dense), (sw, gw), (sb, gb)):
        assert (a - b).norm() <= 1e-12 * b.norm()

    w = lin.weight.detach().clone().requires_grad_()
    b = lin.bias.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda w_, b_: _apply(xs, w_, b_), (w, b))


def _apply(xs, w, b):
    from pde2gnn.models.features import _SparseLinear
    return _SparseLinear.apply(xs.values(), w, b, _plan(xs))


def test_plan_is_built_once_per_feature_matrix():
    """The CSR plan is cached per feature tensor: the same COO tensor gets the same plan, a
    different one its own, with the transposed structure of the matrix (x^T rebuilt from it)."""
    xs, ys = as_model_input(_features(seed=1)), as_model_input(_features(seed=2))
    p = _plan(xs)
    assert _plan(xs) is p and _plan(ys) is not p
    n, f = p.shape
    vals = xs.values()
    xt = torch.sparse_csr_tensor(p.t_crow, p.t_col, vals[p.t_perm], (f, n)).to_dense()
    torch.testing.assert_close(xt, xs.to_dense().t(), rtol=0, atol=0)
