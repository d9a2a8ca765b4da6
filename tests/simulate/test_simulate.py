"""`pde2gnn simulate`: the .npz layout, batching as channels, scattered points and Cora."""
import json

import numpy as np
import pytest

from pde2gnn.cli.commands import main
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


@pytest.mark.data
@pytest.mark.slow
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


def _same_archive(a, b):
    """Every array bit for bit; meta equal but for the wall-clock fields."""
    from pde2gnn.simulate import TIMING_KEYS
    da, db = np.load(a), np.load(b)
    assert sorted(da.files) == sorted(db.files)
    for k in da.files:
        if k != "meta":
            assert da[k].dtype == db[k].dtype and np.array_equal(da[k], db[k]), k
    ma, mb = (json.loads(str(d["meta"])) for d in (da, db))
    strip = lambda m: {k: v for k, v in m.items() if k not in TIMING_KEYS}
    assert strip(ma) == strip(mb)


def test_simulate_shards_merge_to_the_single_run(tmp_path):
    """--shard 0/2 and 1/2 solve chunks {0, 2} and {1} of 4 trajectories each; merged they are
    the unsharded run bit for bit. Chunks are written as they finish: a lost chunk is named by
    the merge, and a rerun of its shard solves only that chunk."""
    common = ["simulate", "convection_diffusion", "--n", "16", "--trajectories", "10",
              "--frames", "4", "--sample", "40", "--batch", "4", "--modes", "3",
              "--threads", "1", "--quiet", "--no-png"]
    one = tmp_path / "one.npz"
    assert main([*common, "--out", str(one)]) == 0
    out = tmp_path / "cd.npz"
    for i in (0, 1):
        assert main([*common, "--out", str(out), "--shard", f"{i}/2"]) == 0
    s0, s1 = tmp_path / "cd.shard0-of-2", tmp_path / "cd.shard1-of-2"
    assert sorted(p.name for p in s0.glob("chunk_*")) == ["chunk_000000.npz", "chunk_000002.npz"]
    assert [p.name for p in s1.glob("chunk_*")] == ["chunk_000001.npz"]
    merged = tmp_path / "merged.npz"
    assert main(["merge", str(merged), str(s0), str(s1)]) == 0
    _same_archive(one, merged)
    assert json.loads(str(np.load(merged)["meta"]))["nfe"] == \
        json.loads(str(np.load(one)["meta"]))["nfe"]
    # a crash of shard 0 after its first chunk: the merge names the shard; a rerun resumes
    (s0 / "chunk_000002.npz").unlink()
    assert main(["merge", str(merged), str(s0), str(s1)]) == 2
    from pde2gnn.simulate import SimulationConfig, merge_shards, simulate
    import pytest
    from pde2gnn.errors import OptionError
    with pytest.raises(OptionError, match=r"chunk\(s\) \[2\] of 3 missing: shard\(s\) 0/2"):
        merge_shards(str(merged), [str(s0), str(s1)], log=lambda s: None)
    cfg = SimulationConfig(n=16, trajectories=10, frames=4, sample=40, batch=4, modes=3,
                           shard=(0, 2))
    info = simulate("convection_diffusion", str(out), cfg, progress=False, log=lambda s: None)
    assert info["chunks_solved"] == [2]
    merge_shards(str(merged), [str(s0), str(s1)], log=lambda s: None)
    _same_archive(one, merged)
    # another run's folder is refused, and so are bad shard specs
    with pytest.raises(OptionError, match="another simulation"):
        simulate("convection_diffusion", str(out), SimulationConfig(
            n=16, trajectories=10, frames=5, sample=40, batch=4, modes=3, shard=(0, 2)),
            progress=False, log=lambda s: None)
    assert main([*common, "--out", str(out), "--shard", "2/2"]) == 2
    assert main([*common, "--out", str(out), "--shard", "3/4"]) == 2      # only 3 chunks
    assert main([*common, "--out", str(out), "--shard", "x"]) == 2


def test_simulate_shards_with_the_ndcn_protocol(tmp_path):
    """The protocol's long-horizon frames and fixed-point residuals survive the merge."""
    cfg = dict(graph="grid8", nodes=16, ic="noise", protocol="regular", horizon=1.0,
               trajectories=3, batch=1, sample=0)
    from pde2gnn.simulate import SimulationConfig, merge_shards, simulate
    one = tmp_path / "one.npz"
    simulate("heat", str(one), SimulationConfig(**cfg), progress=False, log=lambda s: None)
    out = tmp_path / "h.npz"
    for i in range(3):
        simulate("heat", str(out), SimulationConfig(**cfg, shard=(i, 3)), progress=False,
                 log=lambda s: None)
    merge_shards(str(tmp_path / "m.npz"), [str(tmp_path / f"h.shard{i}-of-3") for i in (2, 0, 1)],
                 log=lambda s: None)
    _same_archive(one, tmp_path / "m.npz")
    assert "fixed_point_residual" in np.load(one).files


@pytest.mark.slow      # dynamo traces the step twice (its call, then ahead of time): 2-6 s here
def test_simulate_compile_reports_torch_compile_time_apart(tmp_path, monkeypatch, capsys):
    """``simulate --compile``: the first calls of torch.compile (trace + compile) are reported
    as ``torch_compile_seconds`` in the results file and the run log, not as solving time; the
    frames equal the eager run's (rk4, fixed steps, float64)."""
    from pde2gnn.integrate import compiled as C
    monkeypatch.setattr(C, "DEFAULT_BACKEND", "eager")     # tracing only: CI builds no C++
    import torch
    torch._dynamo.reset()
    cfg = dict(n=10, trajectories=2, frames=3, sample=0, batch=2, modes=3, method="euler",
               step_size=0.005, dtype="float64")
    eager = simulate("convection_diffusion", str(tmp_path / "e.npz"), SimulationConfig(**cfg), progress=False,
                     log=lambda s: None)
    said = []
    meta = simulate("convection_diffusion", str(tmp_path / "c.npz"), SimulationConfig(**cfg, compile=True),
                    progress=False, log=said.append)
    stored = json.loads(str(np.load(tmp_path / "c.npz")["meta"]))
    assert eager["torch_compile_seconds"] == 0.0
    assert meta["torch_compile_seconds"] > 0 and stored["torch_compile_seconds"] == \
        meta["torch_compile_seconds"]
    assert 0 <= meta["solve_seconds"] and meta["solve_seconds"] + meta["compile_seconds"] + \
        meta["torch_compile_seconds"] <= meta["wall_seconds"]
    assert f"{meta['torch_compile_seconds']:.1f} s compiling the step for --compile" in said[0]
    assert "compiled: " in capsys.readouterr().out
    a, b = np.load(tmp_path / "e.npz")["frames"], np.load(tmp_path / "c.npz")["frames"]
    assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()
