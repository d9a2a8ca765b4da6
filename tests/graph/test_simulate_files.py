"""`pde2gnn simulate` on a user's mesh file, movies, and bad input: one located message, exit 2
(issue 34 defects 15, 24, 25; issue 36 item 3)."""
import json

import numpy as np
import pytest

from pde2gnn.cli.commands import main

GS_MESH = """model gray_scott_mesh extends gray_scott
override domain pos : [0, 1.25] x [0, 1.25] scheme=mesh
"""
HEAT_MESH = """model heat_mesh
domain pos : [0, 1] x [0, 1] scheme=mesh
field f : node[d]
dt(f) = 0.05 * lap(f)
"""


def _mesh_file(path, points=150, L=1.25, seed=0):
    """A Delaunay mesh (scipy) of the corners, wall points and random interior points."""
    from examples.gray_scott import delaunay_mesh
    pos, cells = delaunay_mesh(points, seed)
    pos = pos * L / 1.25
    np.savez(path, pos=pos, cells=cells)
    return pos, cells


def _gif_frames(path):
    from PIL import Image
    with Image.open(path) as im:
        return im.n_frames


def test_gray_scott_on_a_mesh_file_with_a_movie(tmp_path):
    """The Gray-Scott model (zero-flux walls, cotangent Laplacian) on a user's Delaunay mesh:
    the graph is the triangles' edges, frames per field, a GIF with one frame per saved frame
    (tripcolor), per-field PNG rows."""
    from examples.gray_scott import pearson_initial
    pos, cells = _mesh_file(tmp_path / "mesh.npz")
    u0, v0 = pearson_initial(pos)
    np.save(tmp_path / "u0.npy", u0)
    np.save(tmp_path / "v0.npy", v0)
    (tmp_path / "gsm.pde").write_text(GS_MESH)
    out, gif = tmp_path / "gsm.npz", tmp_path / "gsm.gif"
    assert main(["simulate", str(tmp_path / "gsm.pde"), "--graph-file", str(tmp_path / "mesh.npz"),
                 "--init", f"u={tmp_path / 'u0.npy'}", "--init", f"v={tmp_path / 'v0.npy'}",
                 "--param", "Du=2e-3", "--param", "Dv=1e-3", "--trajectories", "1",
                 "--frames", "5", "--dt", "2", "--movie", str(gif), "--out", str(out),
                 "--quiet"]) == 0
    d = np.load(out)
    meta = json.loads(str(d["meta"]))
    assert meta["scheme"] == "mesh" and d["frames_u"].shape == (1, 5, len(pos))
    edges = {tuple(e) for e in d["full_edge_index"].T.tolist()}
    tri = {(int(c[a]), int(c[b])) for c in cells for a in range(3) for b in range(3) if a != b}
    assert edges == tri and np.array_equal(d["cells"], cells)
    assert np.isfinite(d["frames_v"]).all() and d["frames_v"][0, -1].max() > 0
    assert _gif_frames(gif) == 5
    assert (tmp_path / "gsm.png").stat().st_size > 0


def test_mesh_heat_conserves_the_lumped_integral(tmp_path):
    """Heat with the cotangent Laplacian over the barycentric areas A_i: L = M^-1 K with K
    symmetric, so sum_i A_i f_i is constant (zero-flux natural boundary); every Runge-Kutta
    step keeps a linear invariant, so it holds to rounding."""
    pos, cells = _mesh_file(tmp_path / "m.npz", points=120, L=1.0, seed=3)
    p = pos[cells]
    area = 0.5 * np.abs((p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1])
                        - (p[:, 1, 1] - p[:, 0, 1]) * (p[:, 2, 0] - p[:, 0, 0]))
    A = np.bincount(cells.ravel(), np.repeat(area / 3, 3), minlength=len(pos))
    (tmp_path / "h.pde").write_text(HEAT_MESH)
    out = tmp_path / "h.npz"
    assert main(["simulate", str(tmp_path / "h.pde"), "--graph-file", str(tmp_path / "m.npz"),
                 "--ic", "bumps", "--trajectories", "2", "--frames", "4", "--dt", "0.5",
                 "--dtype", "float64", "--sample", "0", "--out", str(out), "--quiet",
                 "--no-png"]) == 0
    fr = np.load(out)["frames"]                                           # [B, T, N]
    total = fr @ A
    assert np.abs(total - total[:, :1]).max() < 1e-12 * np.abs(fr).max() * A.sum() * 100
    assert fr[:, -1].std() < fr[:, 0].std()                                # and it diffuses


def test_movie_of_a_graph_without_coordinates(tmp_path):
    """A general graph (no positions) is drawn at a spring layout; GIF frames = saved frames."""
    gif = tmp_path / "h.gif"
    assert main(["simulate", "heat", "--graph", "smallworld", "--nodes", "30", "--ic", "noise",
                 "--trajectories", "1", "--frames", "3", "--dt", "0.1", "--movie", str(gif),
                 "--out", str(tmp_path / "h.npz"), "--quiet", "--no-png"]) == 0
    assert _gif_frames(gif) == 3


def _fails(args, capsys, *words):
    """The command exits 2 with one message (no traceback) holding every word."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    return err


def test_bad_input_is_one_message(tmp_path, capsys):
    n = 8
    base = ["simulate", "gray_scott", "--n", str(n), "--trajectories", "1", "--frames", "2",
            "--out", str(tmp_path / "x.npz"), "--quiet", "--no-png"]
    np.save(tmp_path / "bad.npy", np.ones((n * n + 1, 1)))
    _fails([*base, "--init", f"u={tmp_path / 'bad.npy'}"], capsys, "bad.npy", "[64, 1]",
           "[65, 1]")
    np.save(tmp_path / "ok.npy", np.ones(n * n))
    _fails([*base, "--init", f"w={tmp_path / 'ok.npy'}"], capsys, "no field 'w'", "u, v")
    _fails([*base, "--init", "u=missing.npy"], capsys, "missing.npy")
    _fails([*base, "--input", f"s={tmp_path / 'ok.npy'}"], capsys, "no input 's'")
    spec = tmp_path / "src.pde"
    spec.write_text("model src\nfield f : node[d]\ninput s : node[1]\ndt(f) = s - f\n")
    _fails(["simulate", str(spec), "--graph", "random", "--nodes", "10", "--ic", "noise",
            "--trajectories", "1", "--out", str(tmp_path / "y.npz"), "--quiet"], capsys,
           "input(s) 's'", "--input s=")
    np.save(tmp_path / "s.npy", np.ones(11))
    _fails(["simulate", str(spec), "--graph", "random", "--nodes", "10", "--ic", "noise",
            "--input", f"s={tmp_path / 's.npy'}", "--trajectories", "1",
            "--out", str(tmp_path / "y.npz"), "--quiet"], capsys, "[10, 1]", "[11, 1]")
    np.savez(tmp_path / "g.npz", pos=np.random.rand(5, 2))
    _fails([*base, "--graph-file", str(tmp_path / "g.npz")], capsys, "g.npz", "edge_index")
    np.savez(tmp_path / "g2.npz", edge_index=np.array([[0, 1], [1, 7]]), num_nodes=3)
    _fails(["simulate", "heat", "--graph-file", str(tmp_path / "g2.npz"), "--ic", "noise",
            "--out", str(tmp_path / "z.npz")], capsys, "outside 0 .. 2")
    _fails([*base, "--movie", str(tmp_path / "m.avi")], capsys, ".gif or .mp4")


def test_graph_generators_check_their_sizes(tmp_path, capsys):
    """Issue 34 defect 15: sizes below a generator's minimum are named before networkx / scipy."""
    out = ["--ic", "noise", "--trajectories", "1", "--out", str(tmp_path / "x.npz"), "--quiet"]
    _fails(["simulate", "heat", "--graph", "powerlaw", "--nodes", "5", *out], capsys,
           "--nodes >= 6")
    _fails(["simulate", "heat", "--graph", "smallworld", "--nodes", "2", *out], capsys,
           "--nodes >= 5")
    _fails(["simulate", "fisher", "--graph", "delaunay", "--points", "1", *out], capsys,
           "--points >= 3")
    from pde2gnn.errors import DataError
    from pde2gnn.graph.construction import delaunay_graph, ndcn_graph
    assert ndcn_graph("powerlaw", 6).shape[0] == 2 and ndcn_graph("smallworld", 5).shape[0] == 2
    with pytest.raises(DataError, match="span no triangle"):
        delaunay_graph(np.stack([np.linspace(0, 1, 5)] * 2, 1))     # collinear


def test_max_nfe_and_divergence_messages(tmp_path, capsys):
    """Defect 24: --max-nfe exists, its default is in --help, hitting it names the option.
    Defect 25: a blow-up names the field, the time and what to change in a simulation."""
    base = ["simulate", "allen_cahn", "--n", "8", "--ic", "noise", "--trajectories", "1",
            "--sample", "0", "--frames", "3", "--out", str(tmp_path / "x.npz"), "--quiet",
            "--no-png"]
    _fails([*base, "--max-nfe", "5"], capsys, "max_nfe = 5", "--max-nfe 5")
    _fails([*base, "--max-nfe", "0"], capsys, "--max-nfe")
    spec = tmp_path / "blow.pde"
    spec.write_text("model blow\nfield f : node[d]\ndt(f) = f^2\n")
    np.save(tmp_path / "one.npy", np.ones(10))
    err = _fails(["simulate", str(spec), "--graph", "random", "--nodes", "10", "--init",
                  f"f={tmp_path / 'one.npy'}", "--method", "rk4", "--frames", "5", "--dt", "1",
                  "--trajectories", "1", "--out", str(tmp_path / "b.npz"), "--quiet"],
                 capsys, "field(s) 'f'", "--step-size", "implicit")
    assert "learning rate" not in err
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = capsys.readouterr().out
    assert "default: 100000" in text and "[N, C]" in text and "i * n + j" in text


def _flip_one_edge(pos, cells):
    """A non-Delaunay mesh: the shared edge of two triangles whose union is convex, flipped."""
    cells = cells.copy()
    owner = {}
    for t, c in enumerate(cells):
        for a in range(3):
            e = tuple(sorted((int(c[a]), int(c[(a + 1) % 3]))))
            if e in owner:
                s = owner[e]
                c_opp = [v for v in cells[s] if v not in e][0]
                d_opp = [v for v in c if v not in e][0]

                def cross(o, p, q):
                    return (pos[p, 0] - pos[o, 0]) * (pos[q, 1] - pos[o, 1]) - \
                        (pos[p, 1] - pos[o, 1]) * (pos[q, 0] - pos[o, 0])
                # convex: c_opp and d_opp on either side of e, e's ends on either side of cd
                if cross(*e, c_opp) * cross(*e, d_opp) < 0 and \
                        cross(c_opp, d_opp, e[0]) * cross(c_opp, d_opp, e[1]) < 0:
                    cells[s] = [c_opp, d_opp, e[0]]
                    cells[t] = [c_opp, d_opp, e[1]]
                    return cells
            owner[e] = t
    raise AssertionError("no flippable edge")


def test_mesh_scheme_uses_the_files_triangles(tmp_path):
    """A mesh that is not Delaunay (one edge flipped): the cotangent weights come from its own
    triangles (the lumped integral sum_i A_i f_i of heat is conserved with the file's areas);
    the points' Delaunay triangulation would need an edge the graph lacks."""
    import torch

    from pde2gnn.compiler.pipeline import compile as compile_spec
    from pde2gnn.errors import DataError
    from pde2gnn.graph.construction import triangle_edges
    from examples.gray_scott import delaunay_mesh
    pos, cells = delaunay_mesh(80, seed=5)
    pos = pos / 1.25
    cells = _flip_one_edge(pos, cells)
    ei = triangle_edges(cells, len(pos))
    (tmp_path / "h.pde").write_text(HEAT_MESH)
    inputs = {"pos": torch.tensor(pos)}
    with pytest.raises(DataError, match="Delaunay"):
        compile_spec(str(tmp_path / "h.pde"), ei, len(pos), {"d": 1}, inputs=inputs)
    vf = compile_spec(str(tmp_path / "h.pde"), ei, len(pos), {"d": 1}, inputs=inputs,
                      cells=cells).double()
    np.savez(tmp_path / "m.npz", pos=pos, cells=cells)
    out = tmp_path / "h.npz"
    assert main(["simulate", str(tmp_path / "h.pde"), "--graph-file", str(tmp_path / "m.npz"),
                 "--ic", "bumps", "--trajectories", "1", "--frames", "3", "--dt", "0.5",
                 "--dtype", "float64", "--out", str(out), "--quiet", "--no-png"]) == 0
    p = pos[cells]
    area = 0.5 * np.abs((p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1])
                        - (p[:, 1, 1] - p[:, 0, 1]) * (p[:, 2, 0] - p[:, 0, 0]))
    A = np.bincount(cells.ravel(), np.repeat(area / 3, 3), minlength=len(pos))
    fr = np.load(out)["frames"][0]                                          # [T, N]
    assert np.abs(fr @ A - fr[0] @ A).max() < 1e-10 * np.abs(fr).max() * A.sum()
    # and the compiled field: A-weighted sum of lap f vanishes for any f (K symmetric)
    f = torch.randn(len(pos), 1, dtype=torch.float64)
    vf.prepare(f)
    assert abs(float(torch.tensor(A) @ vf(torch.tensor(0.0), f)[:, 0])) < \
        1e-10 * float(vf(torch.tensor(0.0), f).abs().max()) * A.sum()
