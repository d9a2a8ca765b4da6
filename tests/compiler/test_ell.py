"""The padded ELL form of the CSR products (pde2gnn/compiler/backend/ell.py), which the
compiled path uses: the same values and gradients as the CSR product and a dense matrix
(float64, random weights, rows of unequal length padded, an isolated node, a repeated edge),
gradcheck of the gather form, the choice between ELL and csr_mm, and under torch.compile the
traced graph holding the gather form instead of the custom CSR operator."""
import pytest
import torch

from pde2gnn.compiler.backend import ell
from pde2gnn.compiler.backend.csr import csr_product
from pde2gnn.compiler.backend.graph_ops import GraphOps
from tests.helpers.dynamo import traced_product


def _graph(gen, n=9, repeated=True):
    """Rows of lengths 0..5 (node 0 isolated), a self-loop, optionally one repeated edge."""
    src, dst = [], []
    for i in range(1, n):
        for j in torch.randperm(n, generator=gen)[: 1 + i % 5].tolist():
            src.append(j)
            dst.append(i)
    if repeated:
        src.append(src[0])
        dst.append(dst[0])
    return torch.tensor([src, dst]), n


def _dense(ops, values):
    a = torch.zeros(ops.num_nodes, ops.num_nodes, dtype=values.dtype)
    return a.index_put((ops.i, ops.j), values, accumulate=True)


@pytest.mark.parametrize("repeated", [False, True])
def test_ell_product_equals_csr_and_dense_with_gradients(repeated):
    gen = torch.Generator().manual_seed(1)
    ei, n = _graph(gen, repeated=repeated)
    ops = GraphOps(ei, n).double()
    pattern = ops._pattern()
    form, said = ell.choose(pattern.crow, pattern.col)
    assert form is not None and said.startswith("ELL") and form.width == 5
    assert not form.uniform and form.padding > 1
    values = torch.randn(ops.num_edges, generator=gen, dtype=torch.float64, requires_grad=True)
    x = torch.randn(n, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    want = csr_product(values, x, pattern)                 # eager: the CSR product
    pattern.ell = form
    merged = values if pattern.slot is None else values.new_zeros(pattern.nnz).index_add(
        0, pattern.slot, values)
    got = ell.ell_product(form, merged, x)
    scale = want.abs().max()
    assert (got - want).abs().max() <= 1e-14 * scale
    assert (got - _dense(ops, values) @ x).abs().max() <= 1e-14 * scale
    gw = torch.autograd.grad(want, (values, x), g)
    gg = torch.autograd.grad(got, (values, x), g)
    for a, b in zip(gg, gw):
        assert (a - b).abs().max() <= 1e-13 * b.abs().max()


def test_ell_product_gradcheck():
    gen = torch.Generator().manual_seed(2)
    ei, n = _graph(gen, n=6, repeated=False)
    ops = GraphOps(ei, n).double()
    form, _ = ell.choose(ops.crow, ops.col)
    values = torch.randn(ops.num_edges, generator=gen, dtype=torch.float64, requires_grad=True)
    x = torch.randn(n, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, u: ell.ell_product(form, v, u), (values, x))


def test_uniform_rows_read_the_values_without_a_gather():
    """A periodic ring: every row has K = 2 entries, so the weights are the CSR values."""
    n = 7
    ar = torch.arange(n)
    ei = torch.stack([torch.cat([(ar + 1) % n, (ar - 1) % n]), torch.cat([ar, ar])])
    ops = GraphOps(ei, n).double()
    form, _ = ell.choose(ops.crow, ops.col)
    assert form.uniform and form.padding == 1.0
    values = torch.randn(2 * n, dtype=torch.float64)
    x = torch.randn(n, 1, dtype=torch.float64)
    assert torch.allclose(ell.ell_product(form, values, x), _dense(ops, values) @ x,
                          rtol=1e-14, atol=0)


@pytest.mark.parametrize("hub", [9, 70])
def test_long_rows_keep_csr(hub):
    """A star (one row of length hub - 1 against a mean near 2) or a row longer than 64: the
    padding would waste the work, so the compiled product stays the CSR operator."""
    n = hub
    leaves = torch.arange(1, n)
    ei = torch.stack([torch.cat([leaves, torch.zeros_like(leaves)]),
                      torch.cat([torch.zeros_like(leaves), leaves])])
    ops = GraphOps(ei, n)
    form, said = ell.choose(ops.crow, ops.col)
    assert form is None and said.startswith("csr_mm") and f"longest row {n - 1}" in said


def test_compiled_product_traces_the_gather_form():
    """Under torch.compile the product of a prepared graph is the gather form (no
    ``pde2gnn::csr_mm`` in the traced graph), with the eager values; unprepared, csr_mm."""
    gen = torch.Generator().manual_seed(3)
    ei, n = _graph(gen)
    ops = GraphOps(ei, n).double()
    values = torch.randn(ops.num_edges, generator=gen, dtype=torch.float64)
    x = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    want = ops.spmm(values, x)
    for prepared in (False, True):
        if prepared:
            assert "ELL (K = 5" in ell.prepare(torch.nn.ModuleDict({"g": ops}))
        got, code = traced_product(ops, values, x)
        assert (got - want).abs().max() <= 1e-14 * want.abs().max()
        assert ("csr_mm" in code) != prepared, code
