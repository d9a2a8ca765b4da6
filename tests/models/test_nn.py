"""PDEConv: the PyG-style layer (shared parameters, per-graph cache, batches of graphs)."""
import pickle

import pytest
import torch
from torch_geometric.data import Batch, Data

from pde2gnn.errors import DataError, OptionError
from pde2gnn.models.pdeconv import PDEConv
from pde2gnn.integrate.solve import SolverConfig

from tests.helpers.graphs import random_graph

STANDARDIZE = ("model standardized\nfield x : node[d]\nlearn W : [d, d]\n"
               "dt(x) = lap(standardize_i(x) @ W)\n")


def _graphs(count=4, d=3):
    out = []
    for s in range(count):
        ei, n = random_graph(6 + 2 * s, seed=s)
        out.append(Data(x=torch.randn(n, d, dtype=torch.float64,
                                      generator=torch.Generator().manual_seed(10 + s)),
                        edge_index=ei))
    return out


@pytest.mark.parametrize("spec,dims", [("grand", {"d": 3, "k": 2}), (STANDARDIZE, {"d": 3})])
@pytest.mark.slow
def test_batch_of_four_graphs_equals_four_separate_solves(spec, dims):
    torch.manual_seed(0)
    graphs = _graphs()
    batch = Batch.from_data_list(graphs)
    for solver, tol in ((SolverConfig(method="rk4", step_size=0.1), 1e-12),
                        (SolverConfig(method="dopri5", rtol=1e-9, atol=1e-9), 1e-6)):
        conv = PDEConv(spec, time=0.5, solver=solver, **dims).double()
        with torch.no_grad():
            for p in conv.parameters():
                p.add_(0.2 * torch.randn_like(p))
        joint = conv(batch)
        parts = torch.cat([conv(g.x, g.edge_index) for g in graphs])
        assert (joint - parts).abs().max() < tol, spec
        if spec == STANDARDIZE:     # without `batch` the statistics would mix the graphs
            assert (conv(batch.x, batch.edge_index) - parts).abs().max() > 1e-3


def test_parameters_are_shared_and_graphs_cached():
    torch.manual_seed(0)
    conv = PDEConv("grand", time=1.0, d=3, k=2)
    names = sorted(n for n, _ in conv.named_parameters())
    g1, g2 = _graphs(2)
    x1, x2 = g1.x.float(), g2.x.float()
    conv(x1, g1.edge_index)
    conv(x2, g2.edge_index)
    assert sorted(n for n, _ in conv.named_parameters()) == names   # no per-graph copies
    f1 = conv.vector_field(g1.edge_index, x1.shape[0])
    assert conv.vector_field(g1.edge_index, x1.shape[0]) is f1          # cached
    assert f1.learnables is conv.learnables
    out = conv(x1, g1.edge_index)
    out.pow(2).sum().backward()
    assert all(p.grad is not None for p in conv.parameters())


def test_state_dict_round_trip_and_pickle(tmp_path):
    torch.manual_seed(0)
    g = _graphs(1)[0]
    conv = PDEConv("grand", time=1.0, d=3, k=2).double()
    before = conv(g.x, g.edge_index)
    torch.save(conv.state_dict(), tmp_path / "sd.pt")
    other = PDEConv("grand", time=1.0, d=3, k=2).double()
    other.load_state_dict(torch.load(tmp_path / "sd.pt", weights_only=True))
    assert torch.equal(other(g.x, g.edge_index), before)
    clone = pickle.loads(pickle.dumps(conv))
    assert torch.equal(clone(g.x, g.edge_index), before)


def test_clear_errors():
    conv = PDEConv("grand", d=3, k=2)
    g = _graphs(1)[0]
    with pytest.raises(DataError, match=r"shape \[N, 3\]"):
        conv(torch.randn(g.num_nodes, 4), g.edge_index)
    with pytest.raises(OptionError, match="declares no inputs"):
        conv(g.x.float(), g.edge_index, edge_weight=torch.ones(g.edge_index.shape[1]))
    with pytest.raises(OptionError, match="domain"):
        PDEConv("convection_diffusion", d=1)
    with pytest.raises(OptionError, match="discrete-time"):
        PDEConv("padgn")


@pytest.mark.data
@pytest.mark.slow
def test_readme_example_grand_on_cora_in_your_own_loop(data_root):
    """The former README example (now examples/grand_cora_pdeconv.py): GRAND-l on Cora with PDEConv inside a plain training loop."""
    from torch import nn

    from pde2gnn.data.datasets import load_dataset
    from pde2gnn.models.pdeconv import PDEConv

    data = load_dataset("Cora", data_root)
    torch.manual_seed(0)
    encoder = nn.Linear(data.num_features, 16)
    conv = PDEConv("grand", time=3.0, d=16, k=8)
    decoder = nn.Linear(16, 7)
    params = [*encoder.parameters(), *conv.parameters(), *decoder.parameters()]
    opt = torch.optim.Adam(params, lr=0.01, weight_decay=5e-4)
    m = data.train_mask
    for epoch in range(30):
        opt.zero_grad()
        h = conv(encoder(nn.functional.dropout(data.x, 0.5)), data.edge_index)
        loss = nn.functional.cross_entropy(decoder(torch.relu(h))[m], data.y[m])
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = decoder(torch.relu(conv(encoder(data.x), data.edge_index))).argmax(1)
    acc = (pred[data.test_mask] == data.y[data.test_mask]).float().mean()
    assert acc > 0.7, float(acc)
