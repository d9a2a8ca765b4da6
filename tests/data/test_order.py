"""The METIS node order of large graphs (``TrainConfig.node_order``, pde2gnn/data/order.py):
the relabelled graph is the same graph, a model on it computes the same outputs and gradients
up to the permutation (float64, 1e-12), and a training run gives the same metrics."""
import pytest
import torch
from torch_geometric.data import Data

from pde2gnn.data import order as O
from pde2gnn.errors import OptionError
from pde2gnn.graph.construction import stochastic_block_model
from pde2gnn.integrate.solve import SolverConfig

pytest.importorskip("pymetis")


def _data(n=240, seed=0):
    ei, block = stochastic_block_model(n, 4, 6.0, seed=seed)
    g = torch.Generator().manual_seed(seed)
    masks = torch.rand(n, 3, generator=g)
    return Data(x=torch.randn(n, 8, generator=g) + block[:, None].float(), y=block,
                edge_index=ei, train_mask=masks < 0.4, val_mask=(masks >= 0.4) & (masks < 0.7),
                test_mask=masks >= 0.7, num_nodes=n)


def test_relabelled_graph_is_the_same_graph():
    data = _data()
    new, order = O.metis_relabel(data, part_size=32)
    n = data.num_nodes
    assert sorted(order.tolist()) == list(range(n))
    assert torch.equal(new.x, data.x[order]) and torch.equal(new.y, data.y[order])
    assert torch.equal(new.train_mask, data.train_mask[order])
    # edge k of the new graph is edge k of the old one, its endpoints renamed
    assert torch.equal(order[new.edge_index], data.edge_index)
    # the parts are contiguous blocks: most edges stay within 2 parts' rows of each other
    # (a random order of 240 nodes in 8 parts would keep about 1/8 of them in one part)
    part = new.edge_index // 32
    assert float((part[0] == part[1]).float().mean()) > 0.25


def test_choices():
    assert not O.wants_metis("auto", O.AUTO_NODES - 1)
    assert O.wants_metis("auto", O.AUTO_NODES) and O.wants_metis("metis", 10)
    assert not O.wants_metis("given", 10 ** 8)
    with pytest.raises(OptionError, match="node_order must be one of"):
        O.wants_metis("rcm", 10)
    data = _data(60)
    assert O.node_order(data, "given") == (data, None)


@pytest.mark.parametrize("spec", ["grand", "grand_nl"])
def test_model_on_relabelled_graph_agrees_up_to_the_permutation(spec):
    """ContinuousGNN (encoder -> rk4 solve -> decoder) in float64 with the same weights on both
    orders: outputs and parameter gradients to 1e-12 relative (only the order of the sums in the
    sparse products differs)."""
    from pde2gnn.models.continuous_gnn import ContinuousGNN
    from pde2gnn.train.train_config import TrainConfig
    data = _data()
    new, order = O.metis_relabel(data, part_size=32)
    cfg = TrainConfig(hidden=8, input_dropout=0.0, dropout=0.0, dims={"k": 4},
                      solver=SolverConfig("rk4", step_size=0.25))
    torch.manual_seed(0)
    a = ContinuousGNN(spec, data, 4, cfg).double().eval()
    b = ContinuousGNN(spec, new, 4, cfg).double().eval()
    b.load_state_dict(a.state_dict())
    outs, grads = [], []
    for model, d in ((a, data), (b, new)):
        out = model(d.x.double())
        (out.square() * torch.arange(4, dtype=torch.float64)).sum().backward()
        outs.append(out.detach())
        grads.append({k: p.grad.clone() for k, p in model.named_parameters()
                      if p.grad is not None})
    scale = outs[0].abs().max()
    assert float((outs[1] - outs[0][order]).abs().max()) <= 1e-12 * float(scale)
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for k, g in grads[0].items():
        assert float((grads[1][k] - g).abs().max()) <= 1e-12 * max(float(g.abs().max()), 1.0), k


def test_training_metrics_do_not_depend_on_the_order():
    """node_order = 'metis' against 'given' on a small graph without dropout: the same
    accuracies at every epoch and losses to float32 rounding; the split hash is the data set's."""
    from pde2gnn.train.tasks.node_classification import TrainConfig, train
    data = _data()
    runs = {}
    for choice in ("given", "metis"):
        cfg = TrainConfig(hidden=8, input_dropout=0.0, dropout=0.0, epochs=3, dims={"k": 4},
                          solver=SolverConfig("rk4", step_size=0.5), node_order=choice)
        runs[choice] = train("grand", data, cfg, seed=0, progress=False)
    g, m = runs["given"], runs["metis"]
    assert g["split_sha256"] == m["split_sha256"]
    for hg, hm in zip(g["history"], m["history"]):
        assert hg["train_acc"] == hm["train_acc"] and hg["val_acc"] == hm["val_acc"]
        assert abs(hg["loss"] - hm["loss"]) <= 1e-5 * abs(hg["loss"])
    assert g["test_acc"] == m["test_acc"]
