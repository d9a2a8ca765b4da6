"""BLEND (Beltrami flow): compiled library specs against hand-written PyTorch, kNN rewiring,
positional encodings, squareplus normalisation and the random-split protocol."""
import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import posenc
from pde2gnn.data.datasets import random_split
from pde2gnn.errors import OptionError
from pde2gnn.graph.construction import feature_knn_graph
from pde2gnn.integrate.solve import SolverConfig
from pde2gnn.models.continuous_gnn import ContinuousGNN
from pde2gnn.train.tasks.node_classification import TrainConfig, train

from tests.helpers.graphs import random_graph

P, D, K = 3, 4, 5


def _dense_normalise(scores, ei, n, how, axis="row"):
    """Normalise edge scores [E] as a dense [N, N] matrix A[i, j]: over N(i) (``row``, sum_j
    A[i, j] = 1) or over the edges leaving j (``col``, sum_i A[i, j] = 1)."""
    src, dst = ei[0], ei[1]
    dim = 1 if axis == "row" else 0
    if how == "softmax":
        dense = torch.full((n, n), float("-inf"), dtype=scores.dtype)
        dense[dst, src] = scores
        return torch.softmax(dense, dim=dim)
    dense = torch.zeros((n, n), dtype=scores.dtype)
    dense[dst, src] = 0.5 * (scores + torch.sqrt(scores ** 2 + 4))
    return dense / dense.sum(dim, keepdim=True)


def blend_reference(z, z0, ei, n, L, score="dot", norm="squareplus", heads=1, axis="row"):
    """dz/dt = sigmoid(alpha) (A(z0) - I) z + beta z0, z = [u, x], by hand with dense matrices.

    With ``heads`` > 1 the scaled dot-product scores are computed per block of K / heads
    channels, normalised per head and the heads' matrices averaged (GRAND / BLEND attention)."""
    src, dst = ei[0], ei[1]
    u0, x0 = z0[:, :P], z0[:, P:]
    if score in ("dot", "cos"):
        wq = torch.cat([L["Q_u"], L["Q_x"]])          # W_Q acting on the concatenation [u, x]
        wk = torch.cat([L["K_u"], L["K_x"]])
        q, k = z0 @ wq, z0 @ wk
        if score == "cos":                             # the Linear layers' biases
            q, k = q + L["c_q"], k + L["c_k"]
        width = q.shape[1] // heads
        qh, kh = q[dst].reshape(-1, heads, width), k[src].reshape(-1, heads, width)
        s = (qh * kh).sum(-1)                          # [E, heads]
        s = s / width ** 0.5 if score == "dot" else \
            s / torch.sqrt(qh.pow(2).sum(-1) * kh.pow(2).sum(-1) + 1e-10)
    else:  # exponential kernel, query of i against key of j, positional / feature length scales
        def sq_dist(v, part):
            d = (v @ L[f"Q_{part}"] + L[f"c_{part}"])[dst] - (v @ L[f"K_{part}"])[src]
            return d.reshape(len(dst), heads, -1).pow(2).sum(-1)     # [E, heads]
        s = (L["sigma"] ** 2 * torch.exp(-sq_dist(u0, "u") / (2 * L["l_u"] ** 2)) *
             torch.exp(-sq_dist(x0, "x") / (2 * L["l_x"] ** 2)))
    a = sum(_dense_normalise(s[:, h], ei, n, norm, axis) for h in range(s.shape[1])) / s.shape[1]
    return torch.sigmoid(L["alpha"]) * (a @ z - z) + L["beta"] * z0


def _graph_with_loops(n=13, seed=21):
    ei, n = random_graph(n, seed=seed)
    loops = torch.arange(n).repeat(2, 1)
    return torch.cat([ei, loops], dim=1), n


@pytest.mark.parametrize("model,score,norm,heads,axis", [
    ("beltrami", "dot", "squareplus", 3, "col"), ("beltrami_exp", "exp", "squareplus", 2, "col"),
    ("beltrami_cos", "cos", "squareplus", 2, "row"), ("beltrami_nl", "dot", "squareplus", 1, "row")])
def test_compiled_beltrami_matches_hand_written_pytorch(model, score, norm, heads, axis):
    ei, n = _graph_with_loops()
    dims = {"p": P, "d": D, "k": 2 * heads if heads > 1 else K}
    if heads > 1:
        dims["h"] = heads
    field = compiler.compile(model, ei, n, dims=dims).double()
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in field.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    z0 = torch.randn(n, P + D, dtype=torch.float64, generator=g)
    z = torch.randn(n, P + D, dtype=torch.float64, generator=g)
    field.prepare(z0)
    out = field(torch.tensor(0.0, dtype=torch.float64), z)
    L = field.learned()
    ref = blend_reference(z, z if model == "beltrami_nl" else z0, ei, n, L, score, norm, heads,
                          axis)
    if model == "beltrami_nl":  # the source term stays beta * z(0)
        ref = ref - L["beta"] * z + L["beta"] * z0
    assert (out - ref).abs().max() < 1e-6


def test_frozen_beltrami_is_one_sparse_product_per_field():
    src = compiler.explain("beltrami", "python", dims={"p": P, "d": D})
    step = src.split("def step")[1].split("def linear")[0]
    assert step.count("_G.spmm") == 2 and "squareplus_i" not in step
    assert "squareplus_i" in src.split("def prepare")[1].split("def step")[0]


def test_squareplus_rows_and_columns_sum_to_one():
    ei, n = random_graph(9, seed=2)
    field = compiler.compile("beltrami", ei, n, dims={"p": 2, "d": 2, "k": 2, "h": 1})
    g = field.graph
    s = torch.randn(g.num_edges, 3)
    rows, cols = g.squareplus_j(s), g.squareplus_i(s)
    assert (rows > 0).all() and (cols > 0).all()
    assert torch.allclose(g.sum_j(rows), torch.ones(n, 3), atol=1e-6)
    col_sums = torch.zeros(n, 3).index_add(0, g.j, cols)
    assert torch.allclose(col_sums, torch.ones(n, 3), atol=1e-6)
    assert torch.allclose(g.softmax_i(s).sum(0), torch.full((3,), float(n)), atol=1e-5)


def test_multi_head_dot_and_its_errors():
    u, v = torch.randn(5, 6), torch.randn(5, 6)
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    out = GraphOps.dot(u, v, heads=3)
    assert out.shape == (5, 3)
    assert torch.allclose(out[:, 1], (u[:, 2:4] * v[:, 2:4]).sum(-1))
    assert torch.allclose(GraphOps.mean_heads(out)[:, 0], (u * v).sum(-1) / 3)
    spec = "model m\nfield x : node[6]\nlearn Q : [6, 6]\nedge a = dot(x_i, x_j @ Q, heads={})\n" \
           "dt(x) = div(mean_heads(a) * grad(x))\n"
    compiler.front(spec.format(2))
    from pde2gnn.errors import ArgumentError, ShapeError
    with pytest.raises(ShapeError, match="divisible by 4"):
        compiler.front(spec.format(4))
    with pytest.raises(ArgumentError, match="positive integer"):
        compiler.front(spec.format("0.5"))


def test_feature_knn_graph_equals_brute_force():
    g = torch.Generator().manual_seed(0)
    pos = torch.randn(37, 3, generator=g, dtype=torch.float64)
    k = 5
    ei = feature_knn_graph(pos, k, block=8)
    assert ei.shape == (2, 37 * k)
    dist = ((pos[:, None] - pos[None]) ** 2).sum(-1)
    for i in range(37):
        expect = set(torch.argsort(dist[i])[:k].tolist())
        assert set(ei[0][ei[1] == i].tolist()) == expect
        assert i in expect
    ei2 = feature_knn_graph(pos, k, loop=False)
    assert not (ei2[0] == ei2[1]).any()


@pytest.mark.parametrize("kind,dim,width", [("ppr", 0, 30), ("ppr", 4, 4), ("lap", 4, 4),
                                             ("rw", 5, 5), ("deepwalk", 4, 4)])
def test_positional_encodings_shape_determinism_and_cache(tmp_path, kind, dim, width):
    ei, n = random_graph(30, seed=7)
    a = posenc.positional_encoding(kind, ei, n, dim, seed=1, cache=tmp_path)
    assert a.shape == (n, width) and a.dtype == torch.float32 and torch.isfinite(a).all()
    b = posenc.compute(kind, ei, n, dim, seed=1)
    assert torch.equal(a, b)
    files = list(tmp_path.glob("*.pt"))
    assert len(files) == 1
    torch.save(torch.full_like(a, 7.0), files[0])  # a cache hit returns the stored tensor
    assert (posenc.positional_encoding(kind, ei, n, dim, seed=1, cache=tmp_path) == 7).all()


@pytest.mark.parametrize("kind,dim", [("deepwalk", 0), ("lap", 0), ("lap", 30), ("rw", -1)])
def test_positional_encoding_dimension_out_of_range_is_option_error(kind, dim):
    ei, n = random_graph(30, seed=7)
    with pytest.raises(OptionError, match=f"'{kind}' needs a dimension between 1 and"):
        posenc.compute(kind, ei, n, dim)


def test_sparse_ppr_agrees_with_dense(monkeypatch):
    ei, n = random_graph(40, p=0.1, seed=3)
    dense = posenc.ppr_matrix(ei, n, alpha=0.15, topk=n).toarray()
    assert abs(dense.sum(1) - 1).max() < 1e-9
    monkeypatch.setattr(posenc, "DENSE_MAX", 10)
    sparse = posenc.ppr_matrix(ei, n, alpha=0.15, topk=n, eps=1e-12).toarray()
    assert abs(dense - sparse).max() < 1e-6


def test_dense_ppr_encoding_is_the_column_normalised_inverse():
    """topk 0: S = alpha (I - (1 - alpha) T)^-1, T = D^-1/2 (A + I) D^-1/2, columns summing to 1
    (the BLEND reference's GDC encoding); written here with dense torch algebra."""
    ei, n = random_graph(30, p=0.15, seed=5)
    alpha = 0.1
    a = torch.zeros(n, n, dtype=torch.float64)
    a[ei[1], ei[0]] = 1.0
    a = a + torch.eye(n, dtype=torch.float64)
    d = a.sum(1).rsqrt()
    eye = torch.eye(n, dtype=torch.float64)
    s = alpha * torch.linalg.inv(eye - (1 - alpha) * d[:, None] * a * d)
    expected = s / s.sum(0, keepdim=True)
    enc = posenc.ppr_encoding(ei, n, dim=0, alpha=alpha, topk=0)
    assert np.abs(enc - expected.numpy()).max() < 1e-12
    assert np.abs(enc.sum(0) - 1).max() < 1e-12 and (enc > 0).mean() > 0.5  # dense
    with pytest.raises(OptionError, match="topk must be 0"):
        posenc.ppr_encoding(ei, n, topk=-1)


def test_pushed_ppr_tends_to_the_dense_encoding_as_eps_shrinks(monkeypatch, tmp_path):
    """ppr_push (eps > 0, the BLEND reference's PubMed encoding): columns sum to 1, the support
    shrinks as eps grows, and the error against the exact column-normalised PPR falls with eps;
    --ppr-eps reaches it through TrainConfig.ppr_eps; eps outside (0, 1), and a machine without
    numba (torch_geometric's push needs it), get an OptionError."""
    from pde2gnn.train.tasks.node_classification import positional_input

    ei, n = random_graph(60, p=0.08, seed=4)
    exact = posenc.ppr_dense(ei, n, alpha=0.1)
    errors, support = [], []
    for eps in (1e-2, 1e-4, 1e-6, 1e-8):
        s = posenc.ppr_push(ei, n, alpha=0.1, eps=eps).toarray()
        assert np.abs(s.sum(0) - 1).max() < 1e-12
        errors.append(np.abs(s - exact).max())
        support.append((s != 0).sum())
    assert all(a > b for a, b in zip(errors, errors[1:])) and errors[-1] < 1e-5
    assert support[0] < support[-1]
    monkeypatch.setenv("PDE2GNN_CACHE", str(tmp_path))
    enc = positional_input(Data(edge_index=ei, num_nodes=n),
                           TrainConfig(posenc="ppr", posenc_dim=0, ppr_eps=1e-2))
    expected = posenc.ppr_push(ei, n, alpha=0.05, eps=1e-2).toarray()
    assert torch.allclose(enc, torch.as_tensor(expected, dtype=torch.float32))
    with pytest.raises(OptionError, match="push threshold"):
        posenc.ppr_push(ei, n, eps=1.0)
    real = posenc.importlib.util.find_spec
    monkeypatch.setattr(posenc.importlib.util, "find_spec",
                        lambda name: None if name == "numba" else real(name))
    with pytest.raises(OptionError, match="needs numba"):
        posenc.ppr_push(ei, n, eps=1e-2)


def test_ppr_topk_and_alpha_reach_the_encoding(monkeypatch, tmp_path):
    """TrainConfig.ppr_topk / ppr_alpha (--ppr-topk / --ppr-alpha) set the DIGL sparsification."""
    from pde2gnn.data.datasets import cache_dir
    from pde2gnn.train.tasks.node_classification import positional_input

    monkeypatch.setenv("PDE2GNN_CACHE", str(tmp_path))
    ei, n = random_graph(40, p=0.15, seed=3)
    data = Data(edge_index=ei, num_nodes=n)
    for topk, alpha in [(5, 0.05), (12, 0.05), (12, 0.3)]:
        enc = positional_input(data, TrainConfig(posenc="ppr", posenc_dim=0, ppr_topk=topk,
                                                 ppr_alpha=alpha))
        expected = posenc.ppr_matrix(ei, n, alpha=alpha, topk=topk).toarray()
        assert ((enc != 0).sum(1) <= topk).all()
        assert torch.allclose(enc, torch.as_tensor(expected, dtype=torch.float32))
    assert len(list((cache_dir() / "posenc").glob("*.pt"))) == 3


def _toy_data(n=40, seed=0):
    ei, n = random_graph(n, p=0.15, seed=seed)
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 6, generator=g) + y[:, None].float()
    m = torch.zeros(n, dtype=torch.bool)
    return Data(x=x, y=y, edge_index=ei, train_mask=m.clone().index_fill_(0, torch.arange(12), True),
                val_mask=m.clone().index_fill_(0, torch.arange(12, 24), True),
                test_mask=m.clone().index_fill_(0, torch.arange(24, n), True))


def test_blend_model_encodes_positions_separately_and_rewires():
    data = _toy_data()
    pos = posenc.compute("lap", data.edge_index, data.num_nodes, 4)
    cfg = TrainConfig(hidden=8, dims={"p": 3, "k": 4, "h": 2}, time=1.0, rewire_from="u0",
                      knn_k=4, solver=SolverConfig("rk4", step_size=0.5))
    model = ContinuousGNN("beltrami_knn", data, 3, cfg, pos=pos)
    assert model.pos_encoder.in_features == 4 and model.pos_encoder.out_features == 3
    assert model.encoder.out_features == 8
    assert model.field.graph.num_edges == 4 * data.num_nodes
    z0 = model.eval().encode(data.x)
    assert torch.allclose(z0[:, :3], model.pos_encoder(pos))
    assert model(data.x).shape == (data.num_nodes, 3)


def test_blend_training_run_reports_memory():
    data = _toy_data()
    data.pos_enc = posenc.compute("rw", data.edge_index, data.num_nodes, 4)
    cfg = TrainConfig(hidden=8, epochs=3, dims={"p": 2, "k": 4, "h": 2}, time=1.0,
                      solver=SolverConfig("rk4", step_size=0.5))
    r = train("beltrami", data, cfg, progress=False)
    assert 0 <= r["test_acc"] <= 1 and r["peak_memory_mb"] > 0 and r["nfe_forward"] == 8


def test_random_split_protocol():
    data = _toy_data(200)
    data.y = torch.arange(200) % 4
    s = random_split(data, seed=3, per_class=5, num_development=60)
    tr, va, te = s.train_mask, s.val_mask, s.test_mask
    assert int(tr.sum()) == 20 and int(va.sum()) == 40 and int(te.sum()) == 140
    assert not (tr & va).any() and not (tr & te).any() and not (va & te).any()
    assert all(int((s.y[tr] == c).sum()) == 5 for c in range(4))
    assert not torch.equal(random_split(data, seed=4, per_class=5, num_development=60).train_mask, tr)


@pytest.mark.parametrize("model", ["beltrami_x0", "beltrami_exp_x0"])
def test_detached_source_sends_no_gradient_through_beta_z0(model):
    spec = f"experiments/reference/specs/{model}.pde"     # an ablation spec, extends model[:-3]
    """The *_x0 ablations (the reference's set_x0 detaches x0): the same vector field as their
    parent, and the gradient of sum(f) with respect to z(0) is the parent's less beta, the
    source term's d(beta z0)/dz0 (the attention still depends on z(0) with its gradient)."""
    ei, n = _graph_with_loops()
    dims = {"p": P, "d": D, "k": 4, "h": 2}
    parent = compiler.compile(model[:-3], ei, n, dims=dims).double()
    child = compiler.compile(spec, ei, n, dims=dims).double()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in parent.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    child.load_state_dict(parent.state_dict())
    z0 = torch.randn(n, P + D, dtype=torch.float64, generator=g)
    z = torch.randn(n, P + D, dtype=torch.float64, generator=g)
    t = torch.tensor(0.0, dtype=torch.float64)
    grads, outs = [], []
    for field in (parent, child):
        y0 = z0.clone().requires_grad_(True)
        field.prepare(y0)
        out = field(t, z)
        outs.append(out.detach())
        grads.append(torch.autograd.grad(out.sum(), y0)[0])
    torch.testing.assert_close(outs[1], outs[0])
    beta = parent.learned()["beta"]
    torch.testing.assert_close(grads[0] - grads[1], beta * torch.ones_like(z0))
