"""A short training run on Cora learns (chance is about 0.14-0.32 on the public split)."""
from pde2gnn.data import load_dataset
from pde2gnn.solve import SolverConfig
from pde2gnn.tasks.node_classification import TrainConfig, train


def test_short_grand_run_on_cora_beats_chance(data_root):
    data = load_dataset("Cora", data_root)
    assert data.num_nodes == 2708 and int(data.train_mask.sum()) == 140
    cfg = TrainConfig(hidden=32, epochs=25, lr=0.01, time=3.0, dropout=0.2, dims={"k": 16},
                      solver=SolverConfig("rk4", step_size=1.0))
    r = train("grand", data, cfg, seed=0, progress=False)
    assert r["test_acc"] > 0.65
    assert r["nfe_forward"] == 12


def test_sparse_input_dropout_linear_matches_dense():
    """dropout_linear on sparse COO features: without dropout it equals the dense linear layer
    (values and weight gradients); with dropout, stored zeros stay zero and the kept entries are
    scaled by 1 / (1 - p), so the mean over draws approaches the dense output."""
    import torch
    from torch import nn

    from pde2gnn.tasks.node_classification import as_model_input, dropout_linear
    torch.manual_seed(0)
    x = torch.rand(50, 40) * (torch.rand(50, 40) < 0.05)
    xs = as_model_input(x)
    assert xs.is_sparse and as_model_input(torch.rand(5, 4)).layout == torch.strided
    lin = nn.Linear(40, 7)
    dense = lin(x)
    dense.square().sum().backward()
    g = lin.weight.grad.clone()
    lin.weight.grad = None
    sparse = dropout_linear(xs, lin, None)
    sparse.square().sum().backward()
    torch.testing.assert_close(sparse, dense, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(lin.weight.grad, g, rtol=1e-5, atol=1e-6)
    drop = nn.Dropout(0.5).train()
    with torch.no_grad():
        mean = sum(dropout_linear(xs, lin, drop) for _ in range(4000)) / 4000
    torch.testing.assert_close(mean, dense.detach(), rtol=0, atol=0.03)


def test_without_encoder_the_flow_runs_on_the_raw_features():
    """encoder = false (GRAFF's "scalable" setting): z(0) is the (dropped-out) feature matrix
    itself, d = F; a spec with a positional field is refused."""
    import pytest
    import torch
    from torch_geometric.data import Data

    from pde2gnn.errors import OptionError
    from pde2gnn.tasks.node_classification import ContinuousGNN

    torch.manual_seed(0)
    x = torch.rand(6, 5)
    data = Data(x=x, edge_index=torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]]))
    cfg = TrainConfig(encoder=False, time=1.0, solver=SolverConfig("euler", step_size=0.5))
    model = ContinuousGNN("graff_d", data, 3, cfg).eval()
    assert model.encoder is None and model.field.state_width == 5
    torch.testing.assert_close(model.encode(x), x)
    assert model(x).shape == (6, 3)
    with pytest.raises(OptionError, match="positional field"):
        ContinuousGNN("beltrami", data, 3, cfg, pos=torch.rand(6, 4))
