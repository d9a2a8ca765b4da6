"""`pde2gnn simulate`: the .npz layout, batching as channels, scattered points and Cora."""
import json

import numpy as np
import pytest

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


def _charged(spec, tmp_path, **kw):
    from pde2gnn.simulate import SimulationConfig, simulate
    cfg = SimulationConfig(graph="complete", ic="charged", nodes=5, trajectories=6, frames=3,
                           dt=0.05, method="rk4", step_size=0.0025, batch=4, dtype="float64",
                           **kw)
    out = tmp_path / f"{spec}.npz"
    simulate(spec, str(out), cfg, progress=False, log=lambda s: None)
    return np.load(out)


def test_charged_particles_protocol_and_energy(tmp_path):
    """EGNN's N-body systems: |v(0)| = 0.5, charges +-1, the coords form (u = p + v) and the
    node[3] form with clipping agree while no force component reaches 100, energy conserved."""
    a = _charged("nbody_charged", tmp_path)
    b = _charged("nbody_charged_ref", tmp_path)
    fa, fb, q = a["frames"], b["frames"], a["input_q"][..., 0]
    assert fa.shape == (6, 3, 5, 6) and set(np.unique(q)) <= {-1.0, 1.0}
    assert np.allclose(np.linalg.norm(fb[:, 0, :, 3:], axis=-1), 0.5)
    assert np.allclose(fa[..., :3], fb[..., :3], atol=1e-9)
    assert np.allclose(fa[..., 3:] - fa[..., :3], fb[..., 3:], atol=1e-9)
    p, v = fb[..., :3], fb[..., 3:]
    r = np.linalg.norm(p[:, :, :, None] - p[:, :, None], axis=-1)
    r = np.where(np.eye(5, dtype=bool), np.inf, r)
    energy = 0.5 * (v ** 2).sum((-1, -2)) + 0.5 * (q[:, None, :, None] * q[:, None, None]
                                                   / r).sum((-1, -2))
    assert np.abs(energy - energy[:, :1]).max() < 1e-6
    assert len(a["train"]) + len(a["val"]) + len(a["test"]) == 6


def test_charged_needs_complete_graph(tmp_path):
    from pde2gnn.errors import OptionError
    from pde2gnn.simulate import SimulationConfig, simulate
    with pytest.raises(OptionError, match="complete"):
        simulate("nbody_charged", str(tmp_path / "x.npz"), SimulationConfig(ic="charged"),
                 progress=False)
