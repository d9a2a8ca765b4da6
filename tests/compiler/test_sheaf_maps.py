"""The restriction maps and the assembled sheaf Laplacian (pde2gnn/compiler/backend/sheaf_maps.py,
sheaf.py) against their previous form, in float64: the Householder product against LAPACK's
(``torch.linalg.householder_product``), and L_F x with its gradients (restriction network, x)
against the maps and blocks formed by batched d x d products (full F^T F degree blocks, the
diagonal of D for orthogonal maps, eigh otherwise), to 1e-12 relative to the norm."""
import pytest
import torch

from pde2gnn.compiler.backend.sheaf import Restriction, SheafLaplacian, householder_orthogonal


from tests.helpers.dtypes import float64_default as _float64  # noqa: F401 (autouse)


def _close(a, b, tol=1e-12):
    a, b = a.detach(), b.detach()
    scale = max(float(b.abs().max()), 1e-300)
    assert float((a - b).abs().max()) <= tol * scale, float((a - b).abs().max()) / scale


def _lapack_householder(params, d):
    il = torch.tril_indices(d, d, -1)
    A = torch.eye(d).repeat(*params.shape[:-1], 1, 1)
    A[..., il[0], il[1]] = params
    return torch.linalg.householder_product(A, 2.0 / A.square().sum(dim=-2))


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_householder_matches_lapack(d):
    g = torch.Generator().manual_seed(d)
    p = torch.randn(50, 2, d * (d - 1) // 2, generator=g).requires_grad_()
    w = torch.randn(50, 2, d, d, generator=g)
    Q, R = householder_orthogonal(p, d), _lapack_householder(p, d)
    assert Q.shape == (50, 2, d, d)
    _close(Q, R)
    _close(Q.transpose(-1, -2) @ Q, torch.eye(d).expand_as(Q))
    if d > 1:
        _close(*(torch.autograd.grad((F * w).sum(), p)[0] for F in (Q, R)))


def _previous_maps(net, x, a, b):
    """Restriction.on_edges as it was: concatenated halves gathered per edge, LAPACK's product."""
    flat = x.flatten(1)
    c, m = flat.shape[1], net.learned_d
    P = flat @ torch.cat([net.lin.weight[:, :c], net.lin.weight[:, c:]]).T
    F = torch.tanh(P[a, :P.shape[1] // 2] + P[b, P.shape[1] // 2:])
    F = {"orthogonal": lambda: _lapack_householder(F, m), "general": lambda: F.reshape(-1, m, m),
         "diag": lambda: F}[net.kind]()
    if net.weight is not None:
        Pw = flat @ torch.cat([net.weight.weight[:, :c], net.weight.weight[:, c:]]).T
        w = torch.sigmoid(Pw[a, :1] + Pw[b, 1:]) * torch.sigmoid(Pw[b, :1] + Pw[a, 1:])
        F = F * (w if F.dim() == 2 else w[:, :, None])
    if net.lowpass:
        F = torch.nn.functional.pad(F, (0, 1), value=1.0) if F.dim() == 2 else \
            torch.block_diag(torch.zeros(m, m), torch.ones(1, 1)) + \
            torch.nn.functional.pad(F, (0, 1, 0, 1))
    return F


def _previous_lx(lap, Ft, Fh, x, orthogonal):
    """(D + I)^-1/2 L_F (D + I)^-1/2 x from full d x d blocks by batched products."""
    full = (lambda F: torch.diag_embed(F) if F.dim() == 2 else F)
    Ft, Fh = full(Ft), full(Fh)
    n, d = lap.num_nodes, lap.d
    D = torch.zeros(n, d, d).index_add(0, lap.tail, Ft.mT @ Ft).index_add(0, lap.head, Fh.mT @ Fh)
    off = -(Fh.mT @ Ft)
    Da = D + torch.eye(d)
    if orthogonal or torch.equal(Da, torch.diag_embed(Da.diagonal(dim1=-2, dim2=-1))):
        S = torch.diag_embed(Da.diagonal(dim1=-2, dim2=-1).rsqrt())
    else:
        lam, U = torch.linalg.eigh(Da)
        S = (U * lam.rsqrt().unsqueeze(-2)) @ U.mT
    D, off = S @ D @ S, S[lap.head] @ off @ S[lap.tail]
    out = (D @ x).index_add(0, lap.head, off @ x[lap.tail])
    return out.index_add(0, lap.tail, off.mT @ x[lap.head])


@pytest.mark.parametrize("kind,weights,lowpass", [
    ("orthogonal", True, False), ("orthogonal", False, False), ("orthogonal", True, True),
    ("diag", True, False), ("diag", False, True), ("general", False, False)])
def test_operator_matches_previous_form(kind, weights, lowpass):
    g = torch.Generator().manual_seed(0)
    n, d, k = 30, 3, 4
    ei = torch.randint(0, n, (2, 120), generator=g)
    ei = torch.cat([ei, torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])], 1)
    lap = SheafLaplacian(ei, n, d)
    torch.manual_seed(1)
    net = Restriction(d, k, kind, weights=weights, lowpass=lowpass)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.5)
    x = torch.randn(n, d, k, generator=g, requires_grad=True)
    y = torch.randn(n, d, k, generator=g)
    cot = torch.randn(n, d, k, generator=g)
    orth = kind == "orthogonal"
    Ft, Fh = net(x, lap)
    new = lap.apply(lap.operator(Ft, Fh, orthogonal=orth), y * x)
    Pt = _previous_maps(net, x, lap.tail, lap.head)
    Ph = _previous_maps(net, x, lap.head, lap.tail)
    _close(Ft, Pt)
    _close(Fh, Ph)
    old = _previous_lx(lap, Pt, Ph, y * x, orth)
    _close(new, old)
    _close(lap.laplacian(y * x, Ft, Fh, orthogonal=orth), old)
    params = [x] + list(net.parameters())
    for a, b in zip(torch.autograd.grad((new * cot).sum(), params),
                    torch.autograd.grad((old * cot).sum(), params)):
        _close(a, b)


@pytest.mark.parametrize("loops", [False, True])
def test_maps_by_end_match_maps_by_directed_edge(loops):
    """restriction_maps computes the maps in edge-end order; per directed edge (self-loops
    included, which the Laplacian drops but the divergence reads) they are Phi([u_i, u_j])."""
    from pde2gnn.compiler.backend import sheaf_ops
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    g = torch.Generator().manual_seed(3)
    n, d, k = 12, 3, 2
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    ei = torch.cat([ring, ring.flip(0), torch.tensor([[0, 5], [5, 0]])], 1)
    if loops:
        ei = torch.cat([ei, torch.stack([torch.arange(0, n, 3)] * 2)], 1)
    G = GraphOps(ei, n)
    torch.manual_seed(2)
    net = Restriction(d, k, "orthogonal", weights=True)
    u = torch.randn(n, d * k, generator=g)
    M = sheaf_ops.restriction_maps(G, net, u, d)
    _close(M.directed, net.on_edges(u.reshape(n, d, k), G.i, G.j))
    _close(sheaf_ops.Maps.from_directed(M.directed, d, M.structure).ends, M.ends)
    y = torch.randn(G.num_edges, d * k, generator=g)
    want = torch.zeros(n, d * k).index_add(
        0, G.i, (M.directed.mT @ y.reshape(-1, d, k)).reshape(-1, d * k))
    _close(sheaf_ops.div(G, M, y), want)
