"""The CSR product's kernels (pde2gnn/compiler/backend/csr.py, issue 40): int32 indices made
once per pattern, the product written into an uninitialised output (``addmm`` with beta = 0),
and a GRAND-l solve and its gradients unchanged by them (float64)."""
import pytest
import torch

from pde2gnn.compiler.backend import csr
from pde2gnn.compiler.backend.csr import CSRPattern, _indices, _matrices, _mm, csr_product
from pde2gnn.compiler.pipeline import compile as compile_spec
from pde2gnn.graph.construction import stochastic_block_model
from pde2gnn.integrate.solve import ODEBlock, SolverConfig


def _pattern(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    i, j = ((torch.rand(n, n, generator=g) < 0.2) | torch.eye(n, dtype=torch.bool)).nonzero().t()
    return CSRPattern(i, j, n)


def test_the_product_ignores_the_uninitialised_output_like_blas_beta_zero():
    """``addmm(out, A, x, beta=0, out=out)`` on an output full of NaN gives A x exactly (BLAS:
    beta = 0 never reads C), so :func:`_mm` may write into ``new_empty``; float64, against the
    dense matrix, with int32 indices."""
    pat = _pattern()
    vals = torch.rand(pat.nnz, dtype=torch.float64)
    crow, col = _indices(pat)[:2]
    a = torch.sparse_csr_tensor(crow, col, vals, (40, 40))
    x = torch.randn(40, 5, dtype=torch.float64)
    out = torch.full((40, 5), float("nan"), dtype=torch.float64)
    torch.addmm(out, a, x, beta=0.0, out=out)
    want = a.to_dense() @ x
    torch.testing.assert_close(out, want, rtol=1e-13, atol=0)
    torch.testing.assert_close(_mm(a, x), want, rtol=1e-13, atol=0)


def test_indices_are_int32_made_once_and_rebuilt_for_new_arrays():
    """The pattern's indices in int32 (N, nnz < 2^31), the same tensors on the second call;
    the cached (A, A^T) use them; replaced index arrays (a device move) rebuild them."""
    pat = _pattern(seed=1)
    first = _indices(pat)
    assert all(a.dtype == torch.int32 for a in first)
    assert all(a is b for a, b in zip(first, _indices(pat)))
    assert all(torch.equal(a.long(), b) for a, b in
               zip(first, (pat.crow, pat.col, pat.t_crow, pat.t_col)))
    vals = torch.rand(pat.nnz)
    assert all(m.crow_indices().dtype == torch.int32 for m in _matrices(pat, vals))
    pat.col, pat.t_col = pat.col.clone(), pat.t_col.clone()
    assert _indices(pat)[1] is not first[1]


def test_gradients_and_a_second_derivative_through_the_product():
    """gradcheck in the values and x (float64); a Hessian-vector product of |A x|^2 (the
    backward's product recorded by autograd, ``create_graph=True``) equals 2 A^T A v."""
    pat = _pattern(n=9, seed=2)
    vals = torch.rand(pat.nnz, dtype=torch.float64, requires_grad=True)
    x = torch.randn(9, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, y: csr_product(v, y, pat), (vals, x))
    a = torch.sparse_csr_tensor(pat.crow, pat.col, vals.detach(), (9, 9)).to_dense()
    v = torch.randn(9, 3, dtype=torch.float64)
    (g,) = torch.autograd.grad(csr_product(vals.detach(), x, pat).pow(2).sum(), x,
                               create_graph=True)
    (hv,) = torch.autograd.grad((g * v).sum(), x)
    torch.testing.assert_close(hv, 2 * a.t() @ (a @ v), rtol=1e-12, atol=1e-14)


def _grand_solve(n=600, d=8):
    """GRAND-l (rk4, 4 steps), float64: y(1) and the gradients of a loss in y(0) and every
    parameter (the attention's W_K, W_Q through the SDDMM, alpha, beta)."""
    ei, _ = stochastic_block_model(n, 5, 8, seed=3)
    torch.manual_seed(0)
    field = compile_spec("grand", ei, n, {"d": d}).double()
    y0 = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    y = ODEBlock(field, 1.0, SolverConfig("rk4", step_size=0.25))(y0)
    loss = (y.sin() * torch.arange(1, d + 1, dtype=torch.float64)).sum()
    return [y.detach()] + list(torch.autograd.grad(loss, [y0] + list(field.parameters())))


def test_grand_solve_and_gradients_equal_the_plain_product(monkeypatch):
    """The whole GRAND-l solve and its gradients with the int32 / uninitialised-output product
    against the same solve with torch's plain ``A @ x`` on int64 indices (the product before
    this change), float64: equal to 1e-12 relative (the same kernel sums the same terms)."""
    fast = _grand_solve()
    monkeypatch.setattr(csr, "_mm", lambda a, x: a @ x)
    monkeypatch.setattr(csr, "_indices", lambda ops: (ops.crow, ops.col, ops.t_crow, ops.t_col))
    plain = _grand_solve()
    for a, b in zip(fast, plain):
        assert float((a - b).norm() / b.norm()) < 1e-12


@pytest.mark.parametrize("batch", [False, True])
def test_the_product_with_a_bias_and_a_batch(batch):
    """``bias + A x`` (one addmm) and a batched x ``[B, N, c]`` against the dense matrix."""
    pat = _pattern(seed=4)
    vals = torch.rand(pat.nnz, dtype=torch.float64)
    a = torch.sparse_csr_tensor(pat.crow, pat.col, vals, (40, 40)).to_dense()
    x = torch.randn(*((3,) if batch else ()), 40, 4, dtype=torch.float64)
    bias = torch.randn(40, 1, dtype=torch.float64)
    torch.testing.assert_close(csr_product(vals, x, pat, bias), a @ x + bias, rtol=1e-12,
                               atol=1e-14)
    torch.testing.assert_close(csr_product(vals, x, pat), a @ x, rtol=1e-12, atol=1e-14)
