"""A short training run on Cora learns (chance is about 0.14-0.32 on the public split)."""
import pytest

from pde2gnn.data.datasets import load_dataset
from pde2gnn.integrate.solve import SolverConfig
from pde2gnn.train.tasks.node_classification import TrainConfig, train


@pytest.mark.data
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

    from pde2gnn.models.continuous_gnn import as_model_input, dropout_linear
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
    from pde2gnn.models.continuous_gnn import ContinuousGNN

    torch.manual_seed(0)
    x = torch.rand(6, 5)
    ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    data = Data(x=x, edge_index=torch.cat([ring, ring.flip(0)], 1))  # energy specs: symmetric
    cfg = TrainConfig(encoder=False, time=1.0, solver=SolverConfig("euler", step_size=0.5))
    model = ContinuousGNN("graff_d", data, 3, cfg).eval()
    assert model.encoder is None and model.field.state_width == 5
    torch.testing.assert_close(model.encode(x), x)
    assert model(x).shape == (6, 3)
    with pytest.raises(OptionError, match="positional field"):
        ContinuousGNN("beltrami", data, 3, cfg, pos=torch.rand(6, 4))


def test_time_selected_on_validation():
    """select_time (the reference's early-stopping integrator): the logits at a grid of times
    equal separate solves to each time; with one point at 1 x T the run is the plain one; with a
    grid the chosen time lies on it and the validation accuracy is the best over the grid."""
    import torch
    from torch_geometric.data import Data

    from pde2gnn.models.continuous_gnn import ContinuousGNN

    torch.manual_seed(0)
    n = 40
    ring = torch.arange(n)
    nxt = (ring + 1) % n
    edge_index = torch.stack([torch.cat([ring, nxt]), torch.cat([nxt, ring])])
    y = (ring // 10) % 3
    x = torch.nn.functional.one_hot(y, 3).float() + 0.8 * torch.randn(n, 3)
    masks = [ring % 3 == r for r in range(3)]
    data = Data(x=x, y=y, edge_index=edge_index, train_mask=masks[0], val_mask=masks[1],
                test_mask=masks[2])
    solver = SolverConfig("rk4", step_size=0.25)
    cfg = TrainConfig(hidden=8, epochs=6, time=1.0, dims={"k": 4}, solver=solver)
    model = ContinuousGNN("grand", data, 3, cfg).eval()
    times = torch.tensor([0.5, 1.0, 2.0])
    with torch.no_grad():
        grid = model(x, times)
        for k, t in enumerate(times.tolist()):
            model.ode.time = t
            torch.testing.assert_close(grid[k], model(x), rtol=1e-5, atol=1e-6)

    plain = train("grand", data, cfg, seed=1, progress=False)
    one = train("grand", data, TrainConfig(**{**cfg.__dict__, "select_time": 1.0,
                                              "select_points": 1}), seed=1, progress=False)
    assert [h["val_acc"] for h in one["history"]] == [h["val_acc"] for h in plain["history"]]
    assert one["test_acc"] == plain["test_acc"] and one["best_time"] == 1.0
    sel = train("grand", data, TrainConfig(**{**cfg.__dict__, "select_time": 3.0,
                                              "select_points": 12}), seed=1, progress=False)
    grid_times = {0.25 * (k + 1) for k in range(12)}
    assert all(min(abs(h["integration_time"] - g) for g in grid_times) < 1e-6 for h in sel["history"])
    assert sel["val_acc"] >= max(h["val_acc"] for h in plain["history"])


def test_results_record_the_split_and_selection_rule():
    """Each run records a digest of its masks (equal for equal masks, different when one node
    moves between sets) and the selection rule; summarize carries both up."""
    from pde2gnn.train.tasks.node_classification import split_sha256, summarize
    from tests.helpers.graphs import ring_node_data
    data = ring_node_data()
    tr, va, te = data.train_mask, data.val_mask, data.test_mask
    cfg = TrainConfig(hidden=4, epochs=2, time=1.0, dims={"k": 2},
                      solver=SolverConfig("euler", step_size=0.5))
    runs = [train("grand", data, cfg, seed=s, progress=False) for s in (0, 1)]
    assert runs[0]["split_sha256"] == runs[1]["split_sha256"] == split_sha256(tr, va, te)
    moved_va, moved_te = va.clone(), te.clone()
    moved_va[1], moved_te[1] = False, True
    assert split_sha256(tr, moved_va, moved_te) != split_sha256(tr, va, te)
    assert runs[0]["selection"].endswith("integration time fixed at T")
    assert runs[0]["epoch_time_total_s"] >= runs[0]["epoch_time_s"] > 0
    s = summarize(runs)
    assert s["split_sha256"] == [split_sha256(tr, va, te)]
    assert s["selection"] == [runs[0]["selection"]]


def test_normalize_features_makes_training_blind_to_row_scale():
    """normalize_features (torch_geometric's NormalizeFeatures, the NSD reference's loading):
    features scaled by a different positive factor per node train to exactly the same run."""
    import torch
    from torch_geometric.data import Data

    torch.manual_seed(0)
    n = 12
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    masks = {k: torch.zeros(n, dtype=torch.bool) for k in ("train_mask", "val_mask", "test_mask")}
    masks["train_mask"][:6], masks["val_mask"][6:9], masks["test_mask"][9:] = True, True, True
    x = (torch.rand(n, 8) < 0.4).float()
    y = torch.arange(n) % 3
    cfg = TrainConfig(epochs=3, time=1.0, normalize_features=True, input_dropout=0.0,
                      solver=SolverConfig("euler", step_size=0.5))
    runs = [train("heat", Data(x=x * s, y=y, edge_index=torch.cat([ring, ring.flip(0)], 1),
                               **masks), cfg, progress=False)
            for s in (torch.ones(n, 1), torch.rand(n, 1) * 10 + 0.1)]
    a, b = ([h["loss"] for h in r["history"]] for r in runs)
    torch.testing.assert_close(torch.tensor(a), torch.tensor(b), rtol=1e-6, atol=0)


def test_selection_by_validation_loss_and_patience():
    """select_by = 'loss' reports the epoch of least validation cross-entropy (the NSD
    reference's stop_strategy); patience stops that many epochs after the best one."""
    import pytest
    import torch
    from torch_geometric.data import Data

    from pde2gnn.errors import OptionError

    torch.manual_seed(0)
    n = 30
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    masks = {k: torch.zeros(n, dtype=torch.bool) for k in ("train_mask", "val_mask", "test_mask")}
    masks["train_mask"][:10], masks["val_mask"][10:20], masks["test_mask"][20:] = True, True, True
    data = Data(x=torch.rand(n, 8), y=torch.arange(n) % 3,
                edge_index=torch.cat([ring, ring.flip(0)], 1), **masks)
    cfg = TrainConfig(epochs=60, time=1.0, lr=0.05, select_by="loss", patience=5,
                      solver=SolverConfig("euler", step_size=0.5))
    r = train("heat", data, cfg, progress=False)
    h = r["history"]
    losses = [e["val_loss"] for e in h]
    assert r["best_epoch"] == losses.index(min(losses)) and r["val_loss"] == min(losses)
    assert len(h) == r["best_epoch"] + 6 < 60      # stopped 5 epochs after the best
    assert "least validation loss" in r["selection"] and "5 epochs" in r["selection"]
    with pytest.raises(OptionError, match="select_by"):
        TrainConfig(select_by="f1")
    with pytest.raises(OptionError, match="select_time"):
        TrainConfig(select_by="loss", select_time=2.0)


def test_second_linear_is_one_more_linear_layer_after_the_encoder():
    """second_linear (the NSD reference's lin12): a [width, width] linear layer after the
    encoder's activation and dropout: with weight 2 I and bias 1 the encoding is 2 h + 1, h the
    encoding without it."""
    import torch
    from torch_geometric.data import Data

    from pde2gnn.models.continuous_gnn import ContinuousGNN

    torch.manual_seed(0)
    n = 10
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    data = Data(x=torch.rand(n, 6), y=torch.arange(n) % 2,
                edge_index=torch.cat([ring, ring.flip(0)], 1))
    base = TrainConfig(hidden=8, encoder_act="elu", dropout_at="encoder")
    plain = ContinuousGNN("heat", data, 2, base).eval()
    two = ContinuousGNN("heat", data, 2, TrainConfig(**{**base.__dict__, "second_linear": True}))
    two.eval()
    assert plain.encoder2 is None and tuple(two.encoder2.weight.shape) == (8, 8)
    with torch.no_grad():
        two.encoder.load_state_dict(plain.encoder.state_dict())
        two.encoder2.weight.copy_(torch.eye(8) * 2.0)
        two.encoder2.bias.fill_(1.0)
    torch.testing.assert_close(two.encode(data.x), 2.0 * plain.encode(data.x) + 1.0)
