"""The heterophilic data sets load with their ten geom-gcn splits, undirected by default; with
``directed`` (``--directed``, ``directed = true``) the raw edge list keeps its direction."""
from pathlib import Path

import numpy as np
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
@pytest.mark.slow
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


#: a 6-node WebKB-format edge list (page j links to page i: "j<TAB>i"): a reciprocated pair
#: (0, 1), a repeated edge (2 -> 3 twice), a self-loop (4), node 5 receives no edge
RAW_EDGES = [(0, 1), (1, 0), (2, 3), (2, 3), (4, 4), (5, 0), (3, 1)]


@pytest.fixture
def tiny_webkb(tmp_path, monkeypatch):
    """A data root holding a 6-node 'texas' in the geom-gcn raw format torch_geometric reads."""
    monkeypatch.setenv("PDE2GNN_CACHE", str(tmp_path / "cache"))
    raw = tmp_path / "data" / "WebKB" / "texas" / "raw"
    raw.mkdir(parents=True)
    feats = ["node_id\tfeature\tlabel"] + [f"{k}\t{k % 2},1,{(k + 1) % 2}\t{k % 3}"
                                            for k in range(6)]
    (raw / "out1_node_feature_label.txt").write_text("\n".join(feats) + "\n")
    edges = ["node_id\tnode_id"] + [f"{j}\t{i}" for j, i in RAW_EDGES]
    (raw / "out1_graph_edges.txt").write_text("\n".join(edges) + "\n")
    for k in range(10):
        m = np.zeros((3, 6), dtype=bool)
        m[0, [0, 1, 2]], m[1, [3]], m[2, [4, 5]] = True, True, True
        np.savez(raw / f"texas_split_0.6_0.2_{k}.npz", train_mask=m[0], val_mask=m[1],
                 test_mask=m[2])
    return str(tmp_path / "data")


def test_directed_keeps_the_raw_direction_default_symmetrises(tiny_webkb):
    """Raw: 7 lines, 6 distinct edges (the repeated one merged, as torch_geometric's WebKB
    coalesces). Default: every edge in both directions, 9 distinct (the self-loop once)."""
    raw = {(j, i) for j, i in RAW_EDGES}
    directed = load_dataset("texas", tiny_webkb, directed=True)
    assert set(map(tuple, directed.edge_index.T.tolist())) == raw
    assert directed.edge_index.shape[1] == 6
    assert int((torch.bincount(directed.edge_index[1], minlength=6) == 0).sum()) == 2  # 2, 5
    undirected = load_dataset("texas", tiny_webkb)
    both = raw | {(i, j) for j, i in raw}
    assert set(map(tuple, undirected.edge_index.T.tolist())) == both
    assert undirected.edge_index.shape[1] == len(both) == 9
    assert undirected.train_mask.shape == directed.train_mask.shape == (6, 10)


def test_directed_refused_for_a_planetoid_set():
    from pde2gnn.errors import DataError
    with pytest.raises(DataError, match="Cora's graph is undirected"):
        load_dataset("Cora", None, directed=True)


@pytest.mark.parametrize("how", ["cli", "toml"])
def test_directed_reaches_the_training_graph(tiny_webkb, tmp_path, capsys, how):
    """`pde2gnn train --directed` and a TOML's `directed = true` train on the 6 raw edges; the
    default on the 9 of the symmetrised graph (the run's first line counts them)."""
    from pde2gnn.cli.commands import main
    spec = tmp_path / "g2d.pde"
    spec.write_text((Path(__file__).resolve().parents[2] / "library" / "g2.pde").read_text()
                    .replace("model g2", "model g2d"))
    toml = "[default]\nhidden = 4\nepochs = 1\nmethod = \"euler\"\nstep_size = 1.0\n" \
           "time = 1.0\nself_loops = false\n"
    spec.with_suffix(".toml").write_text(toml + ("directed = true\n" if how == "toml" else ""))
    common = ["train", str(spec), "--dataset", "texas", "--data-root", tiny_webkb, "--quiet",
              "--threads", "1", "--results", str(tmp_path / "r.json")]
    assert main(common + (["--directed"] if how == "cli" else [])) == 0
    assert "6 nodes, 6 edges" in capsys.readouterr().out
    assert main(common + ["--no-directed"]) == 0
    assert "6 nodes, 9 edges" in capsys.readouterr().out
