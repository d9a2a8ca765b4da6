"""`pde2gnn simulate` of coupled fields: Gray-Scott against a hand-written solve, the two state
layouts, --init / --input, the sum tracker, the steady-state stop, snapshots from the API."""
import json

import numpy as np
import pytest
import torch

from pde2gnn.cli.commands import main
from pde2gnn.simulate import SimulationConfig, simulate

QUIET = dict(progress=False, log=lambda s: None)

#: Gray-Scott with one channel per field: trajectories in a leading batch axis
GS_BATCHED = """model gs_batched extends gray_scott
override field u : node
override field v : node
"""


def _pearson(n, L=1.25, seed=0):
    from examples.gray_scott import grid_points, pearson_initial
    pos = grid_points(n) * L / 1.25
    return pos, *pearson_initial(pos, seed)


def _gray_scott_reference(u0, v0, n, L, times, Du, Dv, F, k):
    """The same equations by hand: 5-point Laplacian on the periodic n x n grid (spacing L / n,
    node (i, j) = i n + j), scipy's DOP853 at rtol 1e-11."""
    from scipy.integrate import solve_ivp
    h = L / n

    def lap(a):
        a = a.reshape(n, n)
        return ((np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1)
                 - 4 * a) / h ** 2).ravel()

    def rhs(t, y):
        u, v = y[:n * n], y[n * n:]
        return np.concatenate([Du * lap(u) - u * v ** 2 + F * (1 - u),
                               Dv * lap(v) + u * v ** 2 - (F + k) * v])

    sol = solve_ivp(rhs, (0, times[-1]), np.concatenate([u0, v0]), method="DOP853",
                    t_eval=times, rtol=1e-11, atol=1e-13)
    return sol.y[:n * n].T, sol.y[n * n:].T                           # [T, N] each


@pytest.mark.slow
def test_gray_scott_matches_a_hand_written_solve(tmp_path):
    """Two coupled fields through the CLI: one array per field, their values those of the
    hand-written equations (diffusion made strong enough to matter on a 16 x 16 grid); a GIF
    with one frame per saved frame."""
    n, P = 16, dict(Du=4e-3, Dv=2e-3, F=0.035, k=0.065)
    pos, u0, v0 = _pearson(n)
    np.save(tmp_path / "u0.npy", u0)
    np.save(tmp_path / "v0.npy", v0)
    out = tmp_path / "gs.npz"
    assert main(["simulate", "gray_scott", "--n", str(n), "--init", f"u={tmp_path / 'u0.npy'}",
                 "--init", f"v={tmp_path / 'v0.npy'}", "--trajectories", "1", "--frames", "6",
                 "--dt", "4", "--sample", "0", "--dtype", "float64", "--rtol", "1e-10",
                 "--atol", "1e-12", *[a for kv in P.items() for a in ("--param", "%s=%g" % kv)],
                 "--out", str(out), "--movie", str(tmp_path / "gs.gif"), "--quiet"]) == 0
    d = np.load(out)
    assert "frames" not in d.files and d["frames_u"].shape == (1, 6, n * n) == d["frames_v"].shape
    assert np.allclose(d["full_pos"], pos)
    meta = json.loads(str(d["meta"]))
    assert meta["fields"] == {"u": {"key": "frames_u", "channels": 1},
                              "v": {"key": "frames_v", "channels": 1}}
    ru, rv = _gray_scott_reference(u0[:, 0], v0[:, 0], n, 1.25, d["times"], **P)
    # both solves at rtol <= 1e-10 over 20 time units of a non-stiff system: agreement to 1e-7
    # of the state's size (the fields are O(1))
    for ours, ref in ((d["frames_u"][0], ru), (d["frames_v"][0], rv)):
        assert np.abs(ours - ref).max() <= 1e-7 * np.abs(ref).max()
    assert np.abs(d["frames_v"][0, -1] - v0[:, 0]).max() > 1e-2       # it did evolve
    assert (tmp_path / "gs.png").stat().st_size > 0
    from PIL import Image
    with Image.open(tmp_path / "gs.gif") as im:                     # imshow panels u, v
        assert im.n_frames == 6


def test_layouts_channels_and_batched_agree(tmp_path):
    """node[d] fields (trajectories as channels) and node fields (a leading batch axis) give
    the same trajectories; frame 0 is each trajectory's --init value ([B, N, 1] files); the sum
    tracker is the sum of the saved frames (every node saved)."""
    n, B = 12, 3
    rng = np.random.default_rng(1)
    u0 = 1 - 0.3 * rng.random((B, n * n, 1))
    v0 = 0.3 * rng.random((B, n * n, 1))
    np.savez(tmp_path / "init.npz", u=u0, v=v0)
    (tmp_path / "gsb.pde").write_text(GS_BATCHED)
    cfg = dict(n=n, trajectories=B, frames=4, dt=5.0, sample=0, batch=2, dtype="float64",
               rtol=1e-9, atol=1e-11, init={"*": str(tmp_path / "init.npz")}, track_sum=True,
               params={"Du": 2e-3, "Dv": 1e-3})
    a = simulate("gray_scott", None, SimulationConfig(**cfg), **QUIET)
    b = simulate(str(tmp_path / "gsb.pde"), str(tmp_path / "b.npz"), SimulationConfig(**cfg),
                 **QUIET)
    assert a["fields"]["u"].shape == (B, 4, n * n) and a["times"].shape == (4,)
    assert np.array_equal(a["fields"]["u"][:, 0], u0[..., 0])
    for f in "uv":
        assert np.abs(a["fields"][f] - b["fields"][f]).max() < 1e-7
        assert np.allclose(a["sums"][f], a["fields"][f].sum(2), rtol=1e-12)
    d = np.load(tmp_path / "b.npz")
    assert json.loads(str(d["meta"]))["fields"]["u"]["channels"] == 1
    assert d["sum_u"].shape == (B, 4)


def test_inputs_and_steady_state_stop(tmp_path):
    """An input s on a general graph: df/dt = s - f has f(t) = s + (f0 - s) e^{-t}; the run
    stops at the first frame whose rate max|df| / dt falls below --steady-tol, and later frames
    repeat that state."""
    spec = tmp_path / "relax.pde"
    spec.write_text("model relax\nfield f : node[d]\ninput s : node[1]\ndt(f) = s - f\n")
    g = tmp_path / "ring.npz"
    n = 30
    i = np.arange(n)
    np.savez(g, edge_index=np.stack([np.r_[i, (i + 1) % n], np.r_[(i + 1) % n, i]]))
    s = np.linspace(-2, 2, n)
    np.save(tmp_path / "s.npy", s)
    out = tmp_path / "r.npz"
    tol, dt = 1e-2, 0.5
    assert main(["simulate", str(spec), "--graph-file", str(g),
                 "--input", f"s={tmp_path / 's.npy'}", "--ic", "noise", "--trajectories", "2", "--frames", "41", "--dt", str(dt),
                 "--dtype", "float64", "--rtol", "1e-10", "--atol", "1e-12", "--steady-tol",
                 str(tol), "--out", str(out), "--quiet", "--no-png"]) == 0
    d = np.load(out)
    fr, t = d["frames"], d["times"]
    exact = s + (fr[:, :1] - s) * np.exp(-t)[None, :, None]
    stop = float(d["steady_time"][0])
    k = int(np.argmin(np.abs(t - stop)))
    assert np.abs(fr[:, :k + 1] - exact[:, :k + 1]).max() < 1e-8
    rate = np.abs(np.diff(fr, axis=1)).max(2) / dt                          # [B, T - 1]
    scale = np.maximum(1, np.abs(fr[:, 1:]).max(2))
    steady = (rate <= tol * scale).all(0)
    assert k == 1 + int(np.argmax(steady)) and not steady[:k - 1].any()
    assert np.array_equal(fr[:, k:], np.repeat(fr[:, k:k + 1], len(t) - k, 1))
    assert json.loads(str(d["meta"]))["steady"]["stopped"] == 2


def test_odeblock_snapshots_match_expm():
    """The API's snapshots: ODEBlock(field, T)(y0, times) is y at each time [K, N, C], here
    heat on a path graph against scipy's expm_multiply of the graph Laplacian."""
    from scipy.sparse import diags
    from scipy.sparse.linalg import expm_multiply

    from pde2gnn.compiler.pipeline import compile as compile_spec
    from pde2gnn.integrate.solve import ODEBlock, SolverConfig

    n = 20
    i = torch.arange(n - 1)
    ei = torch.stack([torch.cat([i, i + 1]), torch.cat([i + 1, i])])
    vf = compile_spec("heat", ei, n, {"d": 2}).double()
    y0 = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    times = torch.tensor([0.0, 0.3, 1.0, 2.5], dtype=torch.float64)
    ys = ODEBlock(vf, 2.5, SolverConfig(rtol=1e-10, atol=1e-12))(y0, times)
    deg = np.r_[1, 2 * np.ones(n - 2), 1]
    lap = diags([np.ones(n - 1), -deg, np.ones(n - 1)], [-1, 0, 1])
    assert ys.shape == (4, n, 2)
    for k, tk in enumerate(times.tolist()):
        r = expm_multiply(lap * tk, y0.numpy())
        assert np.abs(ys[k].numpy() - r).max() < 1e-8 * np.abs(y0.numpy()).max()


def test_fixed_channel_field_is_batched(tmp_path):
    """A field with fixed channels (node[2]) is simulated as [B, N, 2]: frames [B, T, M, 2]."""
    spec = tmp_path / "rot.pde"
    spec.write_text("model rot\nfield z : node[2]\ndt(z) = lap(z)\n")
    out = tmp_path / "z.npz"
    assert main(["simulate", str(spec), "--graph", "random", "--nodes", "20", "--ic", "noise",
                 "--trajectories", "3", "--frames", "3", "--dt", "0.1", "--batch", "2",
                 "--out", str(out), "--quiet", "--no-png", "--track-sum"]) == 0
    d = np.load(out)
    assert d["frames"].shape == (3, 3, 20, 2) and d["sum_z"].shape == (3, 3, 2)
    # the graph Laplacian conserves the sum of every channel (float32 state)
    assert np.abs(d["sum_z"] - d["sum_z"][:, :1]).max() < 1e-4 * np.abs(d["frames"]).sum(2).max()


def test_two_field_shards_merge_to_the_single_run(tmp_path):
    """--shard with two fields and --track-sum: the merged file is the single run's, per-field
    frames and sums bit for bit."""
    from pde2gnn.simulate import TIMING_KEYS
    common = ["simulate", "gray_scott", "--n", "8", "--ic", "noise", "--trajectories", "5",
              "--frames", "3", "--dt", "1", "--batch", "2", "--sample", "0", "--track-sum",
              "--param", "Du=1e-3", "--param", "Dv=5e-4", "--quiet", "--no-png"]
    one = tmp_path / "one.npz"
    assert main([*common, "--out", str(one)]) == 0
    out = tmp_path / "gs.npz"
    for i in (0, 1):
        assert main([*common, "--out", str(out), "--shard", f"{i}/2"]) == 0
    merged = tmp_path / "m.npz"
    assert main(["merge", str(merged), str(tmp_path / "gs.shard0-of-2"),
                 str(tmp_path / "gs.shard1-of-2")]) == 0
    a, b = np.load(one), np.load(merged)
    assert sorted(a.files) == sorted(b.files) and {"frames_u", "sum_v"} <= set(a.files)
    for k in a.files:
        if k != "meta":
            assert np.array_equal(a[k], b[k]), k
    ma, mb = (json.loads(str(d["meta"])) for d in (a, b))
    assert {k: v for k, v in ma.items() if k not in TIMING_KEYS} == \
        {k: v for k, v in mb.items() if k not in TIMING_KEYS}
