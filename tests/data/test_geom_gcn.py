"""The heterophilic data sets load with their ten geom-gcn splits, undirected."""
import pytest
import torch

from pde2gnn.data.datasets import load_dataset
from pde2gnn.train.tasks.node_classification import TrainConfig, train
from pde2gnn.integrate.solve import SolverConfig

from tests.conftest import copy_data


@pytest.fixture
def shared_root(tmp_path, monkeypatch):
    """A writable copy of Texas (WebKB): torch_geometric writes processed/ next to raw/."""
    monkeypatch.setenv("PDE2GNN_CACHE", str(tmp_path / "cache"))
    return copy_data(tmp_path / "data", "WebKB", "texas")


def test_dirichlet_energy_of_abar_top_eigenvector_is_zero():
    from pde2gnn.compiler.backend.graph_ops import GraphOps
    from pde2gnn.train.diagnostics import dirichlet_energy
    from tests.helpers.graphs import random_graph
    ei, n = random_graph(10, seed=1)
    g = GraphOps(ei, n)
    x = g.deg.sqrt().repeat(1, 3)  # D^1/2 1 spans the eigenvalue-1 eigenspace of Abar
    assert abs(dirichlet_energy(x, g)) < 1e-6
    assert dirichlet_energy(torch.randn(n, 3), g) > 0.1


@pytest.mark.data
def test_texas_ten_splits_and_short_graff_run(shared_root, tmp_path):
    data = load_dataset("texas", shared_root)
    assert data.num_nodes == 183 and data.train_mask.shape == (183, 10)
    ei = data.edge_index
    fwd = set(map(tuple, ei.T.tolist()))
    assert all((b, a) in fwd for a, b in fwd)  # undirected
    cfg = TrainConfig(hidden=16, epochs=5, solver=SolverConfig("euler", step_size=0.5), time=1.0)
    r = train("graff_dd", data, cfg, split_index=3, progress=False, return_model=True)
    assert r["nfe_forward"] == 2 and 0 <= r["test_acc"] <= 1
    from pde2gnn.train.diagnostics import energy_report
    rep = energy_report(r["model"], data, str(tmp_path / "e.png"))
    assert (tmp_path / "e.png").stat().st_size > 1000
    assert rep["spectral"]["class"] in ("LFD", "HFD") and len(rep["energy"]) == 11
