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
