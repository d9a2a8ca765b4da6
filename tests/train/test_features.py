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
    return _SparseLinear.apply(xs.values(), w.t(), b, _plan(xs))


def test_feature_linear_is_nn_linear_with_a_transposed_weight_float64():
    """FeatureLinear draws the same initial weights as nn.Linear under one seed, exchanges
    state dicts with it (key ``weight``, shape [out, in]) both ways, and on sparse and dense
    features gives nn.Linear's output and gradients (relative to their norms, at rounding
    level); its weight gradient comes in the parameter's own contiguous [in, out] layout (no
    transposing copy), and an Adam step on it equals nn.Linear's."""
    from pde2gnn.models.features import FeatureLinear
    torch.manual_seed(3)
    ref = nn.Linear(20, 6).double()
    torch.manual_seed(3)
    lin = FeatureLinear(20, 6).double()
    assert torch.equal(lin.weight, ref.weight) and torch.equal(lin.bias, ref.bias)
    assert lin.weight_t.is_contiguous() and tuple(lin.weight_t.shape) == (20, 6)
    sd = lin.state_dict()
    assert set(sd) == {"weight", "bias"} and tuple(sd["weight"].shape) == (6, 20)
    other = nn.Linear(20, 6).double()
    other.load_state_dict(sd)
    assert torch.equal(other.weight, ref.weight)
    with torch.no_grad():
        ref.weight.mul_(2.0)
    lin.load_state_dict(ref.state_dict())
    assert torch.equal(lin.weight, ref.weight) and lin.weight_t.is_contiguous()
    x = _features()
    cot = torch.randn(30, 6, dtype=torch.float64)
    want = torch.autograd.grad((ref(x) * cot).sum(), (ref.weight, ref.bias))
    for feats in (as_model_input(x), x):
        out = dropout_linear(feats, lin, None)
        assert (out - ref(x)).norm() <= 1e-12 * ref(x).norm()
        gw, gb = torch.autograd.grad((out * cot).sum(), (lin.weight_t, lin.bias))
        assert gw.is_contiguous() and gw.stride() == lin.weight_t.stride()
        assert (gw.t() - want[0]).norm() <= 1e-12 * want[0].norm()
        assert (gb - want[1]).norm() <= 1e-12 * want[1].norm()
    opts = [torch.optim.Adam(m.parameters(), lr=0.1) for m in (ref, lin)]
    for m, opt, feats in ((ref, opts[0], x), (lin, opts[1], as_model_input(x))):
        opt.zero_grad()
        (dropout_linear(feats, m, None) * cot).sum().backward()
        opt.step()
    assert (lin.weight - ref.weight).norm() <= 1e-12 * ref.weight.norm()


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
