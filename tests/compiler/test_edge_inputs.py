"""Edge inputs (``input w : edge[c]``): per-edge data such as torch_geometric's ``edge_weight``
and ``edge_attr``, given in the order of ``edge_index`` and checked against hand-written torch."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from pde2gnn.compiler.pipeline import compile
from pde2gnn.errors import DataError, EnergyError, KindError, OptionError
from pde2gnn.models.pdeconv import PDEConv
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

WEIGHTED = "model weighted_heat\nfield x : node[d]\ninput w : edge[1]\ndt(x) = div(w * grad(x))\n"
ATTR = ("model edge_attr_flow\nfield x : node[d]\ninput a : edge[2]\n"
        "dt(x) = div(a[0:1] * grad(x)) + sum_j(tanh(a[1:2]) * x_j)\n")


def _multigraph(n=7, e=25, seed=0):
    """A random directed multigraph: repeated edges and self-loops included."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, (2, e), generator=g), n, g


def _by_hand(x, ei, w, a=None):
    """dx_i = sum_{e=(j->i)} w_e (x_j - x_i) [+ tanh(a_e) x_j], with index_add_ in the given order."""
    j, i = ei
    if a is None:
        msg = w.reshape(-1, 1) * (x[j] - x[i])
    else:
        msg = a[:, :1] * (x[j] - x[i]) + torch.tanh(a[:, 1:2]) * x[j]
    return torch.zeros_like(x).index_add_(0, i, msg)


def test_weighted_diffusion_equals_hand_written_torch():
    ei, n, g = _multigraph()
    w = torch.rand(ei.shape[1], generator=g, dtype=torch.float64)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    f = compile(WEIGHTED, ei, n, dims={"d": 3}, inputs={"w": w}).double()
    f.prepare(x)
    assert (f(torch.tensor(0.0), x) - _by_hand(x, ei, w)).abs().max() < 1e-13
    a = torch.randn(ei.shape[1], 2, generator=g, dtype=torch.float64)
    f = compile(ATTR, ei, n, dims={"d": 3}, inputs={"a": a}).double()
    f.prepare(x)
    assert (f(torch.tensor(0.0), x) - _by_hand(x, ei, None, a)).abs().max() < 1e-13


def test_permuting_the_edge_list_with_its_weights_changes_nothing():
    ei, n, g = _multigraph(seed=1)
    w = torch.rand(ei.shape[1], generator=g, dtype=torch.float64)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    perm = torch.randperm(ei.shape[1], generator=g)
    outs = []
    for e, ww in ((ei, w), (ei[:, perm], w[perm])):
        f = compile(WEIGHTED, e, n, dims={"d": 2}, inputs={"w": ww}).double()
        f.prepare(x)
        outs.append(f(torch.tensor(0.0), x))
    assert (outs[0] - outs[1]).abs().max() < 1e-14


def test_set_inputs_replaces_the_weights_and_keeps_their_gradient():
    ei, n, g = _multigraph(seed=2)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    f = compile(WEIGHTED, ei, n, dims={"d": 2}, inputs={"w": torch.ones(ei.shape[1])}).double()
    w = torch.rand(ei.shape[1], generator=g, dtype=torch.float64, requires_grad=True)
    f.set_inputs({"w": w})        # the static operator is rebuilt from the new weights
    f.prepare(x)
    out = f(torch.tensor(0.0), x)
    assert (out - _by_hand(x, ei, w)).abs().max() < 1e-13
    (gw,) = torch.autograd.grad(out.square().sum(), w)
    (ref,) = torch.autograd.grad(_by_hand(x, ei, w).square().sum(), w)
    assert (gw - ref).abs().max() < 1e-12


def test_pde_conv_takes_edge_weight_and_edge_attr():
    ei, n, g = _multigraph(seed=3)
    w = torch.rand(ei.shape[1], generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    solver = SolverConfig(method="rk4", step_size=0.05)
    conv = PDEConv(WEIGHTED, time=0.5, solver=solver, d=2).double()
    f = compile(WEIGHTED, ei, n, dims={"d": 2}, inputs={"w": w.detach()}).double()
    ref = ODEBlock(f, 0.5, solver)(x)
    out = conv(x, ei, edge_weight=w)
    assert (out - ref).abs().max() < 1e-13
    out.sum().backward()                       # the layer trains through the edge weights
    assert w.grad is not None and w.grad.abs().sum() > 0
    # a second call on the same (cached) graph with other weights uses those weights
    w2 = 2 * w.detach()
    f2 = compile(WEIGHTED, ei, n, dims={"d": 2}, inputs={"w": w2}).double()
    assert (conv(Data(x=x, edge_index=ei, edge_weight=w2)) - ODEBlock(f2, 0.5, solver)(x)
            ).abs().max() < 1e-13
    a = torch.randn(ei.shape[1], 2, generator=g, dtype=torch.float64)
    conv_a = PDEConv(ATTR, time=0.5, solver=solver, d=2).double()
    fa = compile(ATTR, ei, n, dims={"d": 2}, inputs={"a": a}).double()
    assert (conv_a(x, ei, edge_attr=a) - ODEBlock(fa, 0.5, solver)(x)).abs().max() < 1e-13


def test_batch_of_graphs_with_edge_weights_equals_separate_solves():
    solver = SolverConfig(method="rk4", step_size=0.1)
    conv = PDEConv(WEIGHTED, time=0.5, solver=solver, d=2).double()
    graphs = []
    for s in range(4):
        ei, n, g = _multigraph(n=5 + s, e=12 + 3 * s, seed=10 + s)
        graphs.append(Data(x=torch.randn(n, 2, generator=g, dtype=torch.float64), edge_index=ei,
                           edge_weight=torch.rand(ei.shape[1], generator=g, dtype=torch.float64)))
    joint = conv(Batch.from_data_list(graphs))
    parts = torch.cat([conv(d.x, d.edge_index, edge_weight=d.edge_weight) for d in graphs])
    assert (joint - parts).abs().max() < 1e-12


def test_edge_input_errors_are_located_and_clear():
    ei, n, g = _multigraph(seed=4)
    with pytest.raises(DataError, match=r"input 'w' must have shape \[25, 1\].*per edge"):
        compile(WEIGHTED, ei, n, dims={"d": 2}, inputs={"w": torch.ones(n)})
    with pytest.raises(DataError, match=r"needs input\(s\) 'w' \(\[E, 1\]\)"):
        compile(WEIGHTED, ei, n, dims={"d": 2})
    with pytest.raises(KindError, match="takes a node value at an edge endpoint"):
        compile(WEIGHTED.replace("w * grad", "w_i * grad"), ei, n, dims={"d": 2},
                inputs={"w": torch.ones(ei.shape[1])})
    energy = ("model e\nfield x : node[1]\ninput w : edge[1]\n"
              "energy E = sum_ij(w * grad(x) * grad(x))\ndt(x) = -var(E, x)\n")
    with pytest.raises(EnergyError, match="edge input 'w' cannot appear in energy 'E'") as info:
        compile(energy, ei, n, inputs={"w": torch.ones(ei.shape[1])})
    assert "<spec>:4:19" in str(info.value)
    with pytest.raises(KindError, match="fields live on nodes"):
        compile("model e\nfield x : edge[1]\ndt(x) = x\n", ei, n)
    f = compile(WEIGHTED, ei, n, dims={"d": 2}, inputs={"w": torch.ones(ei.shape[1])})
    with pytest.raises(DataError, match="cannot be rewired"):
        f.set_graph(ei.flip(0))
    conv = PDEConv(WEIGHTED, d=2)
    with pytest.raises(DataError, match="needs input"):
        conv(torch.randn(n, 2), ei)
    with pytest.raises(OptionError, match="exactly one edge input"):
        PDEConv("model t\nfield x : node[1]\ninput a : edge[1]\ninput b : edge[1]\n"
                "dt(x) = div(a * b * grad(x))\n")(torch.randn(n, 1), ei,
                                                  edge_weight=torch.ones(ei.shape[1]))
