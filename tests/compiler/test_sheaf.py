"""Sheaf Laplacian kernels (pde2gnn/compiler/backend/sheaf.py): dense reference, PSD and kernel,
adjoint identity, gauge equivariance, identity sheaf = graph Laplacian ⊗ I_d, gradcheck,
and the NSD step against a hand-written dense version."""
import pytest
import torch

from pde2gnn.compiler.backend.sheaf import (NSDLayer, Restriction, SheafLaplacian,
                                   householder_orthogonal)
from pde2gnn.errors import DataError



from tests.helpers.dtypes import float64_default as _float64  # noqa: F401 (autouse)


def _graph(n=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    extra = torch.randint(0, n, (2, 5), generator=g)
    ei = torch.cat([ring, extra, ring.flip(0)], 1)       # both directions, duplicates, loops
    return ei, n


def _maps(E, d, kind, seed=1):
    g = torch.Generator().manual_seed(seed)
    if kind == "diag":
        return torch.randn(E, d, generator=g), torch.randn(E, d, generator=g)
    if kind == "orthogonal":
        return (householder_orthogonal(torch.randn(E, d * (d - 1) // 2, generator=g), d),
                householder_orthogonal(torch.randn(E, d * (d - 1) // 2, generator=g), d))
    return torch.randn(E, d, d, generator=g), torch.randn(E, d, d, generator=g)


def _dense(lap, Ft, Fh, normalise, augmented=True):
    n, d = lap.num_nodes, lap.d
    Ft, Fh = lap._full(Ft), lap._full(Fh)
    L = torch.zeros(n * d, n * d)
    for e in range(lap.num_edges):
        u, v = int(lap.tail[e]), int(lap.head[e])
        bu, bv = slice(u * d, u * d + d), slice(v * d, v * d + d)
        L[bu, bu] += Ft[e].T @ Ft[e]
        L[bv, bv] += Fh[e].T @ Fh[e]
        L[bv, bu] -= Fh[e].T @ Ft[e]
        L[bu, bv] -= Ft[e].T @ Fh[e]
    if normalise:
        S = torch.zeros_like(L)
        for v in range(n):
            b = slice(v * d, v * d + d)
            D = L[b, b] + (torch.eye(d) if augmented else 0)
            lam, U = torch.linalg.eigh(D)
            S[b, b] = U @ torch.diag(lam.rsqrt()) @ U.T
        L = S @ L @ S
    return L


@pytest.mark.parametrize("kind", ["diag", "orthogonal", "general"])
@pytest.mark.parametrize("normalise", [False, True])
def test_assembled_equals_dense(kind, normalise):
    ei, n = _graph()
    d, k = 3, 2
    lap = SheafLaplacian(ei, n, d)
    Ft, Fh = _maps(lap.num_edges, d, kind)
    ref = _dense(lap, Ft, Fh, normalise)
    L = lap.assemble(Ft, Fh, normalise=normalise)
    assert torch.allclose(L.to_dense(), ref, atol=1e-10)
    x = torch.randn(n, d, k)
    want = (ref @ x.reshape(n * d, k)).reshape(n, d, k)
    assert torch.allclose(lap.apply(L, x), want, atol=1e-10)
    assert torch.allclose(lap.laplacian(x, Ft, Fh, normalise=normalise), want, atol=1e-10)
    if kind == "diag":   # only the diagonal of each block is stored
        assert L.values().numel() == (2 * lap.num_edges + n) * d


@pytest.mark.parametrize("kind", ["diag", "orthogonal", "general"])
def test_psd_and_symmetric(kind):
    ei, n = _graph()
    lap = SheafLaplacian(ei, n, 3)
    Ft, Fh = _maps(lap.num_edges, 3, kind)
    for normalise in (False, True):
        L = lap.assemble(Ft, Fh, normalise=normalise).to_dense()
        assert torch.allclose(L, L.T, atol=1e-12)
        assert torch.linalg.eigvalsh(L).min() > -1e-10


def test_kernel_is_global_sections():
    # a sheaf with a known global section: F_{v⊴e} = Q_e R_v^T makes x_v = R_v c a section
    ei, n = _graph()
    d = 3
    lap = SheafLaplacian(ei, n, d)
    g = torch.Generator().manual_seed(3)
    R = householder_orthogonal(torch.randn(n, 3, generator=g), d)
    Q = torch.randn(lap.num_edges, d, d, generator=g)
    Ft = Q @ R[lap.tail].transpose(-1, -2)
    Fh = Q @ R[lap.head].transpose(-1, -2)
    L = lap.assemble(Ft, Fh, normalise=False).to_dense()
    lam, U = torch.linalg.eigh(L)
    assert (lam.abs() < 1e-9).sum() == d             # ring is connected and Q generic
    c = torch.randn(d, 1)
    x = R @ c                                         # [n, d, 1]
    assert lap.grad(x, Ft, Fh).abs().max() < 1e-12  # a global section
    null = U[:, lam.abs() < 1e-9]
    proj = null @ (null.T @ x.reshape(-1))
    assert torch.allclose(proj, x.reshape(-1), atol=1e-9)


@pytest.mark.parametrize("kind", ["diag", "orthogonal", "general"])
def test_adjoint_identity(kind):
    ei, n = _graph()
    d, k = 3, 4
    lap = SheafLaplacian(ei, n, d)
    Ft, Fh = _maps(lap.num_edges, d, kind)
    x, y = torch.randn(n, d, k), torch.randn(lap.num_edges, d, k)
    lhs = (lap.grad(x, Ft, Fh) * y).sum()
    rhs = -(x * lap.div(y, Ft, Fh)).sum()
    assert torch.allclose(lhs, rhs, atol=1e-12)
    L = -lap.div(lap.grad(x, Ft, Fh), Ft, Fh)
    assert torch.allclose(L, lap.laplacian(x, Ft, Fh, normalise=False), atol=1e-12)


@pytest.mark.parametrize("kind", ["orthogonal", "general"])
def test_gauge_equivariance(kind):
    ei, n = _graph()
    d, k = 3, 2
    lap = SheafLaplacian(ei, n, d)
    Ft, Fh = _maps(lap.num_edges, d, kind)
    g = torch.Generator().manual_seed(5)
    Q = householder_orthogonal(torch.randn(n, 3, generator=g), d)   # an O(d) map per stalk
    x = torch.randn(n, d, k)
    Ft2 = Ft @ Q[lap.tail].transpose(-1, -2)
    Fh2 = Fh @ Q[lap.head].transpose(-1, -2)
    for normalise in (False, True):
        out = lap.laplacian(x, Ft, Fh, normalise=normalise)
        out2 = lap.laplacian(Q @ x, Ft2, Fh2, normalise=normalise)
        assert torch.allclose(out2, Q @ out, atol=1e-10)


def test_identity_sheaf_is_graph_laplacian_kron_identity():
    ei, n = _graph()
    d = 2
    lap = SheafLaplacian(ei, n, d)
    eye = torch.eye(d).expand(lap.num_edges, d, d)
    L = lap.assemble(eye, eye, normalise=False).to_dense()
    A = torch.zeros(n, n)
    A[lap.tail, lap.head] = 1
    A = A + A.T
    Lg = torch.diag(A.sum(1)) - A
    assert torch.allclose(L, torch.kron(Lg, torch.eye(d)), atol=1e-12)


@pytest.mark.parametrize("kind", ["diag", "orthogonal", "general"])
def test_gradcheck_through_restriction(kind):
    ei, n = _graph(5)
    d, k = 2, 2
    lap = SheafLaplacian(ei, n, d)
    net = Restriction(d, k, kind)
    x = torch.randn(n, d, k, requires_grad=True)

    orth = {"orthogonal": kind == "orthogonal"}   # D_v = deg_v I: no eigh (see blocks)

    def g(x):
        return lap.laplacian(x, *net(x, lap), **orth)
    assert torch.autograd.gradcheck(g, (x,))
    assert torch.autograd.gradcheck(lambda x: lap.apply(lap.assemble(*net(x, lap), **orth), x),
                                    (x,))
    assert torch.autograd.gradcheck(lambda x: lap.apply(lap.operator(*net(x, lap), **orth), x),
                                    (x,))
    w = net.lin.weight.detach().clone().requires_grad_(True)

    def h(w):   # through the network's weights (the learnable part)
        maps = torch.func.functional_call(net, {"lin.weight": w}, (x.detach(), lap))
        return lap.laplacian(x.detach(), *maps, **orth)
    assert torch.autograd.gradcheck(h, (w,))


def test_nsd_layer_matches_dense_handwritten():
    ei, n = _graph()
    d, k = 3, 4
    lap = SheafLaplacian(ei, n, d)
    torch.manual_seed(0)
    net = Restriction(d, k, "general")
    layer = NSDLayer(d, k)
    with torch.no_grad():
        layer.W1.copy_(torch.randn(d, d)); layer.W2.copy_(torch.randn(k, k))
        layer.eps.copy_(torch.randn(d))
    x = torch.randn(n, d, k)
    Ft, Fh = net(x, lap)
    out = layer(x, lap, Ft, Fh)
    out_frozen = layer(x, lap, Ft, Fh, L=lap.assemble(Ft, Fh))
    Ld = _dense(lap, Ft, Fh, True)
    Xf = x.reshape(n * d, k)
    W1 = torch.kron(torch.eye(n), layer.W1)
    eps = (1 + torch.tanh(layer.eps)).repeat(n)[:, None]
    ref = eps * Xf - torch.nn.functional.elu(Ld @ (W1 @ Xf) @ layer.W2)
    assert torch.allclose(out.reshape(n * d, k), ref, atol=1e-10)
    assert torch.allclose(out_frozen.reshape(n * d, k), ref, atol=1e-10)


def test_bad_maps_and_kinds_raise():
    ei, n = _graph()
    lap = SheafLaplacian(ei, n, 3)
    with pytest.raises(DataError, match="restriction maps must be"):
        lap.grad(torch.randn(n, 3, 1), torch.randn(2, 3), torch.randn(2, 3))
    with pytest.raises(DataError, match="restriction kind"):
        Restriction(3, 1, "orthogonl")
    with pytest.raises(DataError, match="outside"):
        SheafLaplacian(torch.tensor([[0], [99]]), 4, 2)


@pytest.mark.parametrize("kind", ["diag", "orthogonal", "general"])
def test_block_product_gradients_match_csr(kind):
    """The block product's own backward (per-block G X^T, L^T g) gives torch's CSR gradients,
    in the maps and in x, on a graph with repeated edges and loops."""
    ei, n = _graph(9, seed=3)
    d, k = 3, 4
    lap = SheafLaplacian(ei, n, d)
    Ft, Fh = (F.requires_grad_() for F in _maps(lap.num_edges, d, kind, seed=2))
    x = torch.randn(n, d, k, requires_grad=True)
    w = torch.randn(n, d, k)
    grads = []
    o = kind == "orthogonal"       # D_v = deg_v I: its diagonal (eigh's gradient is NaN there)
    for L in (lap.operator(Ft, Fh, orthogonal=o), lap.assemble(Ft, Fh, orthogonal=o)):
        y = lap.apply(L, x)
        grads.append((y, *torch.autograd.grad((y * w).sum(), (Ft, Fh, x))))
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-12)
