"""PA-DGN (Seo, Meng & Liu, ICLR 2020) as library specs: learnable networks in specs,
discrete-time models (next / state), the spatial difference layer (eq. 3-4), the Stepper."""
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import ArgumentError, FormError, KindError, NameError_, OptionError, \
    ShapeError, SpecError
from pde2gnn.graph.construction import knn_graph
from pde2gnn.resources import library_models

torch.set_num_threads(1)
N = 24


@pytest.fixture(scope="module")
def graph():
    g = torch.Generator().manual_seed(0)
    pos = torch.rand(N, 2, generator=g, dtype=torch.float64) * 6.0
    return pos, knn_graph(pos.numpy(), 4)


def stepper(model, graph, **kw):
    pos, ei = graph
    torch.manual_seed(1)
    inputs = {"pos": pos} if "pos" in compiler.front(model).inputs else {}
    return compiler.compile_stepper(model, ei, N, inputs=inputs, **kw).double()


def scatter_sum(e, i, n):
    return torch.zeros(*e.shape[:-2], n, e.shape[-1], dtype=e.dtype).index_add(e.dim() - 2, i, e)


def force_coefficients_to_one(st):
    """Zero the last layer of the edge GN and set its bias to 1: w1 = w2 = w3 = w4 = 1."""
    last = st.update.nets.coef.edge_mlps[-1][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(1.0)


def test_sdl_reduces_to_graph_gradient_and_laplacian_when_w_is_one(graph):
    st = stepper("padgn", graph, probes=("gradf", "lapf"))
    force_coefficients_to_one(st)
    f = torch.randn(3, N, 1, dtype=torch.float64)
    st(f)
    G = st.update.graph
    grad_ref = f[:, G.j] - f[:, G.i]                                   # f_j - f_i per edge
    lap_ref = scatter_sum(f[:, G.i] - f[:, G.j], G.i, N)               # sum_j (f_i - f_j)
    assert torch.equal(st.update.probed["gradf"], grad_ref)
    assert torch.allclose(st.update.probed["lapf"], lap_ref, rtol=0, atol=1e-14)
    # ... and the whole step equals StandardOP (fixed operators) with the same regressor
    std = stepper("standardop", graph, probes=("gradf", "lapf"))
    std.update.nets.update.load_state_dict(st.update.nets.update.state_dict())
    out_std, _ = std(f)
    out, _ = st(f)
    assert torch.equal(std.update.probed["gradf"], grad_ref)
    assert torch.allclose(out, out_std, rtol=0, atol=1e-13)


def hand_written_padgn(f, pos, ei, coef, update):
    """PA-DGN's step written directly in torch from the edge list (no pde2gnn kernels).

    coef: the EdgeGN (its Linear layers are read, its forward is not used); update: the MLP.
    """
    j, i = ei[0], ei[1]
    n = pos.shape[0]
    B = f.shape[0]
    rel = (pos[j] - pos[i]).expand(B, -1, -1)
    v = torch.cat([f, pos.expand(B, -1, -1)], -1)
    e = rel
    blocks = len(coef.edge_mlps)
    for k in range(blocks):
        e = coef.edge_mlps[k](torch.cat([e, v[:, i], v[:, j]], -1))
        if k < blocks - 1:
            v = coef.node_mlps[k](torch.cat([v, scatter_sum(e, i, n)], -1))
    w1, w2, w3, w4 = e.unbind(-1)
    grad = w1.unsqueeze(-1) * (f[:, j] - w2.unsqueeze(-1) * f[:, i])           # eq. 3
    lap = scatter_sum(w3.unsqueeze(-1) * (f[:, i] - w4.unsqueeze(-1) * f[:, j]), i, n)  # eq. 4
    deg = torch.bincount(i, minlength=n).to(f.dtype).unsqueeze(-1)
    dirs = scatter_sum(torch.cat([grad * rel[..., :1], grad * rel[..., 1:]], -1), i, n) / deg
    return f + update(torch.cat([f, pos.expand(B, -1, -1), dirs, lap], -1))


def test_padgn_step_matches_hand_written_pytorch_and_batches(graph):
    pos, ei = graph
    st = stepper("padgn", graph)
    f = torch.randn(4, N, 1, dtype=torch.float64)
    out, hidden = st(f, st.init_hidden(4))
    assert hidden == () and out.shape == (4, N, 1)
    ref = hand_written_padgn(f, pos, ei, st.update.nets.coef, st.update.nets.update)
    assert (out - ref).abs().max() < 1e-6
    for b in range(4):
        one, _ = st(f[b:b + 1])
        assert (one - out[b:b + 1]).abs().max() < 1e-12


def hand_written_rgn(f, h1, h2, pos, ei, nets):
    """RGN's step (library/rgn.pde) in torch: message MLPs on the per-edge concatenation."""
    j, i = ei[0], ei[1]
    B, n = f.shape[0], pos.shape[0]
    rel = (pos[j] - pos[i]).expand(B, -1, -1)
    m1 = scatter_sum(nets.msg1(torch.cat([h1[:, i], h1[:, j], rel], -1)), i, n)
    h1n = nets.cell1(torch.cat([f, m1], -1), h1)
    m2 = scatter_sum(nets.msg2(torch.cat([h2[:, i], h2[:, j]], -1)), i, n)
    h2n = nets.cell2(torch.cat([h1n, m2], -1), h2)
    return f + nets.readout(h2n), h1n, h2n


def test_rgn_messages_take_the_first_layer_per_node_and_match_hand_written_pytorch(graph):
    pos, ei = graph
    assert ".on_edges(_G, ('i', h1), ('j', h1), ('e', " in compiler.explain("rgn", "python")
    st = stepper("rgn", graph)
    f = torch.randn(3, N, 1, dtype=torch.float64)
    h1, h2 = (torch.randn(3, N, 64, dtype=torch.float64) for _ in range(2))
    out, (g1, g2) = st(f, (h1, h2))
    pos = st.update.inputs.pos                     # as stored (rounded to the default dtype)
    ref, r1, r2 = hand_written_rgn(f, h1, h2, pos, ei, st.update.nets)
    for a, b in ((out, ref), (g1, r1), (g2, r2)):
        assert (a - b).abs().max() < 1e-12


def test_state_dict_holds_parameters_not_inputs(graph):
    """A checkpoint carries the learned parameters only: the station coordinates are data, so a
    model trained on one graph loads onto another with other coordinates."""
    st = stepper("padgn", graph)
    assert st.state_dict() and all(k.startswith("update.nets.") for k in st.state_dict())
    pos, ei = graph
    other = compiler.compile_stepper("padgn", ei, N, inputs={"pos": pos + 1.0}).double()
    other.load_state_dict(st.state_dict())
    # inputs keep the precision they were given in: .double() converts from the given values
    assert torch.equal(other.update.inputs.pos, (pos + 1.0).double())


def test_var_is_vector_autoregression_with_the_lag_as_state(graph):
    st = stepper("var", graph)
    f0, f1 = torch.randn(2, 2, N, 1, dtype=torch.float64)
    L = st.update.learned()
    _, h = st(f0, st.init_hidden(2))
    assert torch.equal(h[0], f0)
    out, _ = st(f1, h)
    assert torch.allclose(out, f1 @ L["A1"] + f0 @ L["A2"] + L["b"], atol=1e-14)


@pytest.mark.parametrize("model", ["padgn", "padgn_rgn", "rgn", "rgn_standardop", "standardop",
                                   "gru_forecast", "mlp_forecast", "var"])
def test_batched_rollout_equals_per_trajectory_and_gradients_reach_every_parameter(graph, model):
    st = stepper(model, graph)
    f = torch.randn(3, N, 1, dtype=torch.float64)
    h = st.init_hidden(3)
    x, hb = f, h
    for _ in range(2):
        x, hb = st(x, hb)
    for b in range(3):
        y, hs = f[b:b + 1], tuple(t[b:b + 1] for t in h)
        for _ in range(2):
            y, hs = st(y, hs)
        assert (y - x[b:b + 1]).abs().max() < 1e-10
    x.square().sum().backward()
    params = dict(st.named_parameters())
    assert params and all(p.grad is not None and p.grad.abs().sum() > 0
                          for p in params.values()), [n for n, p in params.items()
                                                      if p.grad is None or not p.grad.any()]


def test_two_layer_gru_and_channel_slices():
    spec = """model g2
field f : node[2]
state h : node[16]
net cell : gru(in=2, hidden=8, layers=2)
net out : mlp(in=8, out=2, hidden=8)
let hn = cell(f, h)
next(h) = hn
next(f) = out(hn[8:16])
"""
    ei = knn_graph(torch.rand(5, 2).numpy(), 2)
    st = compiler.compile_stepper(spec, ei, 5)
    f = torch.randn(2, 5, 2)
    h = torch.randn(2, 5, 16)
    out, (h2,) = st(f, (h,))
    cells = st.update.nets.cell.cells
    a = cells[0](f.reshape(-1, 2), h[..., :8].reshape(-1, 8))
    b = cells[1](a, h[..., 8:].reshape(-1, 8))
    assert torch.allclose(h2.reshape(-1, 16), torch.cat([a, b], -1), atol=1e-6)
    assert torch.allclose(out, st.update.nets.out(b.reshape(2, 5, 8)), atol=1e-6)


def test_is_discrete_explain_and_compile_entry_points(graph):
    pos, ei = graph
    assert compiler.is_discrete("padgn") and compiler.is_discrete("padgn_rgn")
    assert not compiler.is_discrete("heat") and not compiler.is_discrete("convection_diffusion")
    assert "discrete-time model" in compiler.explain("padgn", "ir")
    assert "continuous model (ODE)" in compiler.explain("heat", "ir")
    with pytest.raises(OptionError, match="continuous model.*compiler.compile"):
        compiler.compile_stepper("heat", ei, N)
    with pytest.raises(OptionError, match="discrete-time model.*compile_stepper"):
        compiler.compile("padgn", ei, N, inputs={"pos": pos})
    st = stepper("gru_forecast", graph)
    assert st.channels == 1 and [h.shape for h in st.init_hidden(2)] == [(2, N, 64)]
    assert stepper("padgn", graph).init_hidden(2) == ()


def test_every_forecasting_spec_is_discrete():
    for m in ("padgn", "padgn_rgn", "rgn", "rgn_standardop", "standardop", "meshop", "var",
              "mlp_forecast", "gru_forecast"):
        assert m in library_models() and compiler.is_discrete(m)


HEAD = "model m\nfield f : node[1]\ninput pos : node[2]\n"


@pytest.mark.parametrize("body, cls, phrase, hint", [
    ("net g : edge_gnn(in=3, out=4)\nnext(f) = f",
     NameError_, "unknown network type 'edge_gnn'", "did you mean 'edge_gn'?"),
    ("net g : mlp(out=1)\nnext(f) = g(f)", ArgumentError, "mlp needs size in", ""),
    ("net g : mlp(in=1, out=1, hiden=8)\nnext(f) = g(f)",
     ArgumentError, "mlp has no size 'hiden'", "did you mean 'hidden'?"),
    ("net g : mlp(1, 1)\nnext(f) = g(f)", ArgumentError, "sizes are given by name", ""),
    ("net g : mlp(in=2, out=1)\nnext(f) = g(f)",
     ShapeError, "expects an input with 2 channels", ""),
    ("net g : edge_gn(in=3, edge_in=2, out=4)\nnext(f) = f + sum_j(g(cat(f, pos)))",
     ArgumentError, "takes 2 arguments, got 1", ""),
    ("net g : edge_gn(in=3, out=4)\nnext(f) = f + sum_j(g(cat(f_i, pos_i)))",
     KindError, "takes node inputs first", ""),
    ("net g : mlp(in=1, out=1)\nnext(f) = f + g", KindError, "must be called", ""),
    ("net g : mlp(in=k, out=1)\nnext(f) = g(f)", NameError_, "not a declared dimension", ""),
    ("edge w = grad(f)\nnext(f) = f + sum_j(w[1])", ShapeError, "out of range", ""),
    ("state h : node[4]\ndt(f) = lap(f)\ndt(h) = h", FormError, "discrete-time model", ""),
    ("next(f) = f\ndt(f) = f", FormError, "not both", ""),
    ("next(f) = init(f)", FormError, "init(...)", ""),
    ("state h : node[4]\nnext(f) = f", FormError, "state 'h' has no equation next(h)", ""),
])
def test_malformed_networks_and_discrete_models_are_located_spec_errors(body, cls, phrase, hint):
    with pytest.raises(SpecError) as info:
        compiler.front(HEAD + body)
    err = info.value
    assert type(err) is cls, str(err)
    assert phrase in err.message, str(err)
    assert hint in err.hint
    assert err.span is not None and "^" in str(err)
