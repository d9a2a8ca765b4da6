"""The CSR product's cache of (A, A^T) for operator values that need no gradient
(pde2gnn/compiler/backend/csr.py)."""
import torch

from pde2gnn.compiler.backend.csr import CSRPattern, _matrices, csr_product


def _pattern(n=7, seed=0):
    """A pattern without repeated entries (random off-diagonal entries plus the diagonal)."""
    g = torch.Generator().manual_seed(seed)
    i, j = ((torch.rand(n, n, generator=g) < 0.3) | torch.eye(n, dtype=torch.bool)).nonzero().t()
    pat = CSRPattern(i, j, n)
    assert pat.slot is None
    return pat, i, j


def test_frozen_values_build_their_csr_pair_once_and_an_inplace_change_rebuilds_it():
    """Values without gradient: the same tensor gives the same cached (A, A^T); an in-place
    change (version counter) rebuilds, so the product follows the new values; the products
    (forward and the x-gradient through A^T) equal the dense matrix's in float64."""
    pat, i, j = _pattern()
    vals = torch.rand(pat.nnz, dtype=torch.float64)
    a1 = _matrices(pat, vals)
    assert _matrices(pat, vals)[0] is a1[0]
    x = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
    dense = torch.sparse_csr_tensor(pat.crow, pat.col, vals, (7, 7)).to_dense()
    y = csr_product(vals, x, pat)
    g = torch.randn(7, 3, dtype=torch.float64)
    (gx,) = torch.autograd.grad(y, x, g)
    torch.testing.assert_close(y, dense @ x, rtol=1e-12, atol=0)
    torch.testing.assert_close(gx, dense.t() @ g, rtol=1e-12, atol=0)
    vals.mul_(2.0)
    assert _matrices(pat, vals)[0] is not a1[0]
    torch.testing.assert_close(csr_product(vals, x, pat), 2 * dense @ x, rtol=1e-12, atol=0)


def test_values_with_gradient_are_cached_weakly_and_get_their_gradient():
    """Values that need a gradient (a learned operator, built once per solve) get their SDDMM
    gradient; the cache holds them only weakly and its matrices carry no autograd graph, so
    dropping the values frees them (and the graph that made them)."""
    pat, _, _ = _pattern(seed=1)
    vals = torch.rand(pat.nnz, dtype=torch.float64, requires_grad=True)
    x = torch.randn(7, 2, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda v: csr_product(v, x, pat), (vals,))
    y = csr_product(vals * 1.0, x, pat)
    hit = pat._csr_cache
    assert all(m.values().grad_fn is None for m in hit.pair)
    del y
    assert hit.ref() is None                       # the product's values were freed
    import pickle
    assert pickle.loads(pickle.dumps(pat))._csr_cache.pair is None
