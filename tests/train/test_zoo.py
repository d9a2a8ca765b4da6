"""The PDE-GNN zoo (issue 39): GREAD, ACMP, GRAND++, GraphCON, A-DGN and G^2 library specs, each
compiled and compared with a hand-written dense PyTorch version of its equation in float64
(and, where the reference code uses a torch_geometric layer, with that layer); the general
features they brought: the ``antisym`` constraint, ``mean_i``, the ``label_mask`` input, and
``shared_init`` / ``decode_fields`` of node classification."""
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv, SAGEConv

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.backend.constraints import AntiSymmetric
from pde2gnn.errors import OptionError
from pde2gnn.models.continuous_gnn import ContinuousGNN
from pde2gnn.train.tasks.node_classification import TrainConfig

from tests.helpers.graphs import random_graph

D, K = 4, 3
F64 = torch.float64


def _graph(loops: bool, n=11, seed=3):
    ei, n = random_graph(n, seed=seed)
    if loops:
        ei = torch.cat([ei, torch.arange(n).repeat(2, 1)], dim=1)
    return ei, n


def _dense(ei, n, values=None):
    """[N, N] matrix with M[i, j] = value of edge (j -> i) (ei[1] = i receives)."""
    m = torch.zeros(n, n, dtype=F64)
    m[ei[1], ei[0]] = 1.0 if values is None else values
    return m


def _abar(ei, n):
    a = _dense(ei, n)
    d = a.sum(1).rsqrt()
    return d[:, None] * a * d[None, :]


def _attention(z0, ei, n, L):
    """softmax_j(dot(x0_i W_K, x0_j W_Q) / sqrt(k)) as a dense row-stochastic [N, N]."""
    s = ((z0 @ L["W_K"])[ei[1]] * (z0 @ L["W_Q"])[ei[0]]).sum(1) / K ** 0.5
    dense = torch.full((n, n), float("-inf"), dtype=F64)
    dense[ei[1], ei[0]] = s
    return torch.softmax(dense, dim=1)


def _compiled(model, ei, n, width, params=None, inputs=None, seed=5):
    """The compiled field with random float64 learnables, evaluated at a random z (z0 = init)."""
    dims = {"d": D, "k": K} if "W_K" in compiler.front(model).learns else {"d": D}
    field = compiler.compile(model, ei, n, dims=dims, params=params, inputs=inputs).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in field.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=F64))
    z0 = torch.randn(n, width, dtype=F64, generator=g)
    z = torch.randn(n, width, dtype=F64, generator=g)
    field.prepare(z0)
    return field(torch.tensor(0.0, dtype=F64), z), field.learned(), z, z0


def _close(out, ref):
    """Equal to float64 rounding, relative to the size of the result."""
    assert out.shape == ref.shape
    assert (out - ref).abs().max() <= 1e-12 * (1 + ref.abs().max())


REACTIONS = {"gread": None, "gread_const": None, "gread_f": lambda x: x * (1 - x),
             "gread_ac": lambda x: x * (1 - x ** 2), "gread_z": lambda x: x ** 2 * (1 - x)}


@pytest.mark.parametrize("model", sorted(REACTIONS))
def test_gread_matches_hand_written(model):
    """dH/dt = sigmoid(alpha) (A H - H) + r(H) diag(b): GREAD eq. 9, r = (A - A^2) H (BS)."""
    ei, n = _graph(loops=True)
    out, L, z, z0 = _compiled(model, ei, n, D)
    a = _abar(ei, n) if model == "gread_const" else _attention(z0, ei, n, L)
    r = (a @ z - a @ (a @ z)) if REACTIONS[model] is None else REACTIONS[model](z)
    assert torch.equal(L["Beta"], torch.diag(torch.diagonal(L["Beta"])))
    _close(out, torch.sigmoid(L["alpha"]) * (a @ z - z) + r @ L["Beta"])


def test_acmp_matches_hand_written():
    """dx_i/dt = sigmoid(alpha) sum_j (a_ij - beta)(x_j - x_i) + sigmoid(delta) x (1 - x^2)."""
    ei, n = _graph(loops=False)
    beta = 0.37
    out, L, z, z0 = _compiled("acmp", ei, n, D, params={"beta": beta})
    w = (_attention(z0, ei, n, L) - beta) * _dense(ei, n)       # (a_ij - beta) on the edges
    ref = torch.sigmoid(L["alpha"]) * (w @ z - w.sum(1, keepdim=True) * z) + \
        torch.sigmoid(L["delta"]) * z * (1 - z ** 2)
    _close(out, ref)


SPECS = "experiments/zoo/specs/"


def test_gread_four_heads_matches_hand_written():
    """specs/gread_sc_h4.pde: GREAD-BS with one alpha and the reference's attention, the mean
    of H softmax_j heads, head h on channels [h k/H, (h+1) k/H) scaled by sqrt(k/H) (GRAND's
    SpGraphTransAttentionLayer view(-1, H, k/H))."""
    ei, n = _graph(loops=False)
    kk, h = 8, 4
    field = compiler.compile(SPECS + "gread_sc_h4.pde", ei, n, dims={"d": D, "k": kk}).double()
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in field.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=F64))
    z0, z = (torch.randn(n, D, dtype=F64, generator=g) for _ in range(2))
    field.prepare(z0)
    out, L = field(torch.tensor(0.0, dtype=F64), z), field.learned()
    q, k = z0 @ L["W_K"], z0 @ L["W_Q"]
    heads = []
    for m in range(h):
        c = slice(m * kk // h, (m + 1) * kk // h)
        s = (q[ei[1], c] * k[ei[0], c]).sum(1) / (kk // h) ** 0.5
        dense = torch.full((n, n), float("-inf"), dtype=F64)
        dense[ei[1], ei[0]] = s
        heads.append(torch.nan_to_num(torch.softmax(dense, dim=1)))
    a = sum(heads) / h
    assert L["alpha"].dim() == 0                                   # one alpha (alpha_dim "sc")
    _close(out, torch.sigmoid(L["alpha"]) * (a @ z - z) + (a @ z - a @ (a @ z)) @ L["Beta"])


def test_acmp_grand_matches_hand_written():
    """specs/acmp_grand.pde (the ACMP reference script's configuration): sigmoid(alpha)
    (sum_j (w_ij - beta) x_j - x) - sigmoid(delta) (x^2 - 1) x, w = D^-1 (A + I), alpha and
    delta per channel, initialised at 0 and -10 (init_alpha, init_delta)."""
    ei, n = _graph(loops=True)
    fresh = compiler.compile(SPECS + "acmp_grand.pde", ei, n, dims={"d": D}).learned()
    assert torch.equal(fresh["alpha"], torch.zeros(D))
    assert torch.equal(fresh["delta"], torch.full((D,), -10.0))
    beta = 0.3
    out, L, z, z0 = _compiled(SPECS + "acmp_grand.pde", ei, n, D, params={"beta": beta})
    a = _dense(ei, n)
    w = a / a.sum(1, keepdim=True) - beta * a
    ref = torch.sigmoid(L["alpha"]) * (w @ z - z) - torch.sigmoid(L["delta"]) * (z ** 2 - 1) * z
    _close(out, ref)


def test_grand_pp_source_on_labelled_nodes():
    """GRAND++: sigmoid(alpha) (A(x0) - I) x + 1_I (x0 - mean_I x0)."""
    ei, n = _graph(loops=True)
    mask = (torch.arange(n) % 3 == 0).to(F64)[:, None]
    out, L, z, z0 = _compiled("grand_pp", ei, n, D, inputs={"label_mask": mask})
    a = _attention(z0, ei, n, L)
    xbar = (mask * z0).sum(0) / mask.sum()
    _close(out, torch.sigmoid(L["alpha"]) * (a @ z - z) + mask * (z0 - xbar))


def test_mean_i_per_graph_of_a_batch():
    ei, n = _graph(loops=False, n=6)
    g = compiler.compile("heat", ei, n, dims={"d": 2}).graph
    u = torch.arange(12.0).reshape(6, 2)
    assert torch.equal(g.mean_i(u), u.mean(0, keepdim=True).expand(6, 2))
    g.set_batch(torch.tensor([0, 0, 0, 1, 1, 1]))
    expect = torch.cat([u[:3].mean(0).expand(3, 2), u[3:].mean(0).expand(3, 2)])
    assert torch.equal(g.mean_i(u), expect)


def _gcn_conv(W, b):
    conv = GCNConv(D, D).double()
    with torch.no_grad():
        conv.lin.weight.copy_(W.T)
        conv.bias.copy_(b)
    return conv


@pytest.mark.parametrize("model", ["graphcon", "graphcon_v1"])
def test_graphcon_matches_reference_layer(model):
    """The field's Euler step of size h is the reference's symplectic Euler layer:
    Y1 = Y0 + h (relu(F(X0)) - gamma X0 - alpha Y0), X1 = X0 + h Y1, F from torch_geometric's
    GCNConv with the residual of res_version 2 (graphcon) or 1 (graphcon_v1)."""
    ei, n = _graph(loops=False)        # GCNConv adds the self-loops itself
    ei_loops = torch.cat([ei, torch.arange(n).repeat(2, 1)], dim=1)
    h, alpha, gamma = 0.7, 0.3, 0.2
    out, L, z, _ = _compiled(model, ei_loops, n, 2 * D,
                             params={"h": h, "alpha": alpha, "gamma": gamma})
    x, y = z[:, :D], z[:, D:]
    conv = _gcn_conv(L["W"], L["b"])
    with torch.no_grad():
        res = -x @ L["W"] + x @ L["R"] if model == "graphcon" else -(x @ L["W"]) @ L["R"]
        g = torch.relu(conv(x, ei) + res) - gamma * x - alpha * y
    y1 = y + h * g
    x1 = x + h * y1
    _close(z + h * out, torch.cat([x1, y1], dim=1))


def test_adgn_matches_hand_written_and_is_antisymmetric():
    """dx/dt = tanh(x (W - W^T) - gamma x + sum_j x_j V + b) (A-DGN eq. 6)."""
    ei, n = _graph(loops=False)
    out, L, z, _ = _compiled("adgn", ei, n, D, params={"gamma": 0.15})
    W = L["W"]
    _close(W, -W.T)
    _close(out, torch.tanh(z @ W - 0.15 * z + _dense(ei, n) @ z @ L["V"] + L["b"]))


def test_antisym_constraint():
    """A - A^T: antisymmetric, purely imaginary spectrum, right_inverse reproduces W."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(5, 5, dtype=F64, generator=g)
    c = AntiSymmetric()
    w = c(a)
    _close(w, -w.T)
    assert torch.linalg.eigvals(w).real.abs().max() <= 1e-12 * w.abs().max()
    _close(c(c.right_inverse(w)), w)


@pytest.mark.parametrize("model", ["g2", "g2_gcn"])
def test_g2_matches_reference_layer(model):
    """One Euler step of size 1 is the G^2 layer (1 - tau) X + tau relu(F(X)),
    tau = tanh(mean_j |Xhat_j - Xhat_i|^p), F torch_geometric's SAGEConv (g2) or GCNConv."""
    loops = model == "g2_gcn"
    ei, n = _graph(loops=False)
    ei_field = torch.cat([ei, torch.arange(n).repeat(2, 1)], dim=1) if loops else ei
    p = 2.5
    out, L, z, _ = _compiled(model, ei_field, n, D, params={"p": p})
    with torch.no_grad():
        if loops:
            fx = torch.relu(_gcn_conv(L["W"], L["b"])(z, ei))
        else:
            sage = SAGEConv(D, D).double()
            sage.lin_l.weight.copy_(L["W"].T)
            sage.lin_l.bias.copy_(L["b"])
            sage.lin_r.weight.copy_(L["U"].T)
            fx = torch.relu(sage(z, ei))
    m = _dense(ei_field, n)
    diff = (fx[None, :, :] - fx[:, None, :]).abs() ** p          # [i, j, c]
    tau = torch.tanh((m[:, :, None] * diff).sum(1) / m.sum(1, keepdim=True))
    _close(z + out, (1 - tau) * z + tau * fx)


def _data(n=12, f=5):
    ei, n = _graph(loops=False, n=n)
    g = torch.Generator().manual_seed(1)
    return Data(x=torch.randn(n, f, generator=g), edge_index=ei, y=torch.arange(n) % 3,
                num_nodes=n)


def test_shared_init_and_decode_fields():
    """GraphCON's head: X0 = Y0 from one encoder, the decoder reads X only."""
    data = _data()
    cfg = TrainConfig(hidden=D, shared_init=True, decode_fields=["x"], input_dropout=0.0)
    model = ContinuousGNN("graphcon", data, 3, cfg)
    z0 = model.encode(data.x)
    assert z0.shape == (data.num_nodes, 2 * D) and torch.equal(z0[:, :D], z0[:, D:])
    assert model.decoder.in_features == D
    assert model(data.x).shape == (data.num_nodes, 3)
    with pytest.raises(OptionError, match="decode_fields"):
        ContinuousGNN("graphcon", data, 3, TrainConfig(hidden=D, decode_fields=["v"]))
    with pytest.raises(OptionError, match="decode_fields"):
        TrainConfig(decode_fields="x")


def test_label_mask_input_is_the_training_mask():
    data = _data()
    mask = torch.arange(data.num_nodes) < 4
    model = ContinuousGNN("grand_pp", data, 3, TrainConfig(hidden=D), label_mask=mask)
    assert torch.equal(model.field.inputs.label_mask.reshape(-1).bool(), mask)
    with pytest.raises(OptionError, match="label_mask"):
        ContinuousGNN("grand_pp", data, 3, TrainConfig(hidden=D))
