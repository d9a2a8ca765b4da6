"""`pde2gnn simulate`: the .npz layout, batching as channels, scattered points and Cora."""
import json

import numpy as np

from pde2gnn.cli import main
from pde2gnn.simulate import SimulationConfig, simulate


def test_simulate_grid_layout_and_batching(tmp_path):
    out = tmp_path / "cd.npz"
    cfg = SimulationConfig(n=20, trajectories=10, frames=5, sample=50, batch=4, modes=3)
    meta = simulate("convection_diffusion", str(out), cfg, png=str(tmp_path / "cd.png"),
                    progress=False, log=lambda s: None)
    d = np.load(out)
    assert d["frames"].shape == (10, 5, 50) and d["pos"].shape == (50, 2)
    assert d["full_pos"].shape == (400, 2) and d["edge_index"].max() < 50
    assert sorted(np.concatenate([d["train"], d["val"], d["test"]])) == list(range(10))
    assert json.loads(str(d["meta"]))["scheme"] == "grid" and meta["solves"] == 3
    assert "model convection_diffusion" in str(d["spec"])
    import hashlib
    assert json.loads(str(d["meta"]))["spec_sha256"] == hashlib.sha256(
        str(d["spec"]).encode()).hexdigest()
    assert (tmp_path / "cd.png").stat().st_size > 0
    # frame 0 is the initial condition: trajectories are independent channels
    one = SimulationConfig(n=20, trajectories=10, frames=5, sample=50, batch=10, modes=3)
    simulate("convection_diffusion", str(tmp_path / "b.npz"), one, progress=False,
             log=lambda s: None)
    assert np.allclose(np.load(tmp_path / "b.npz")["frames"], d["frames"], atol=2e-4)


def test_simulate_points_and_cora_cli(tmp_path, data_root):
    out = tmp_path / "f.npz"
    assert main(["simulate", "fisher", "--graph", "points", "--points", "300", "--k", "10",
                 "--ic", "bumps", "--trajectories", "3", "--frames", "3", "--dt", "0.5",
                 "--sample", "0", "--out", str(out), "--no-png", "--quiet"]) == 0
    d = np.load(out)
    assert json.loads(str(d["meta"]))["scheme"] == "lsq" and d["frames"].shape == (3, 3, 300)
    assert np.isfinite(d["frames"]).all()
    out = tmp_path / "cora.npz"
    assert main(["simulate", "heat", "--graph", "Cora", "--data-root", data_root, "--ic",
                 "noise", "--sample", "0", "--trajectories", "4", "--frames", "3", "--dt",
                 "0.1", "--out", str(out), "--quiet"]) == 0
    d = np.load(out)
    assert d["frames"].shape == (4, 3, 2708) and "pos" not in d.files
    # heat diffusion on a graph conserves the sum and smooths
    assert np.allclose(d["frames"].sum(2)[:, 0], d["frames"].sum(2)[:, -1], rtol=1e-3, atol=1e-2)
    assert d["frames"][:, -1].std() < d["frames"][:, 0].std()
