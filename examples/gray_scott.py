"""Inputs of the Gray-Scott runs of docs/guide/simulate.md (``library/gray_scott.pde``).

Pearson's initial state (Science 261:189, 1993): u = 1, v = 0 everywhere but a square of side
0.2 in the middle of [0, 1.25]^2 where u = 1/2, v = 1/4; everything multiplied by 1 + 0.01 noise
(uniform in [-1, 1], seeded).

    python examples/gray_scott.py grid --n 128 --out gs/      # gs/u0.npy, gs/v0.npy [N, 1]
    python examples/gray_scott.py mesh --points 4000 --out gs/  # gs/mesh.npz (pos, cells),
                                                                # gs/mesh_u0.npy, gs/mesh_v0.npy

The grid files follow ``simulate --graph grid``'s node order (node (i, j) = i n + j at
(i h, j h), h = 1.25 / n on the periodic square); the mesh is the Delaunay triangulation
(scipy) of a jittered lattice (:func:`delaunay_mesh`), written as a ``--graph-file``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

L = 1.25


def pearson_initial(pos: np.ndarray, seed: int = 0):
    """(u0, v0), each ``[N, 1]``, at the points ``pos`` ``[N, 2]``."""
    rng = np.random.default_rng(seed)
    inside = (np.abs(pos - L / 2) <= 0.1).all(1)
    u = np.where(inside, 0.5, 1.0)
    v = np.where(inside, 0.25, 0.0)
    u = u * (1 + 0.01 * rng.uniform(-1, 1, len(pos)))
    v = v * (1 + 0.01 * rng.uniform(-1, 1, len(pos)))
    return u[:, None], v[:, None]


def grid_points(n: int) -> np.ndarray:
    """The nodes of ``simulate --graph grid --n n`` on the periodic [0, L]^2, in its order."""
    x = np.arange(n) * L / n
    return np.stack([a.ravel() for a in np.meshgrid(x, x, indexing="ij")], 1)


def delaunay_mesh(points: int, seed: int = 0):
    """(pos [N, 2], cells [F, 3]): an m x m lattice (m = round(sqrt(points))) on [0, L]^2 with
    the interior points moved by up to 0.3 h per axis (uniform, seeded), triangulated by scipy:
    an irregular mesh whose triangles stay well shaped (random points would give slivers, whose
    large cotangent weights make the explicit solve stiff)."""
    from scipy.spatial import Delaunay

    rng = np.random.default_rng(seed)
    m = int(round(np.sqrt(points)))
    h = L / (m - 1)
    s = np.arange(m) * h
    pos = np.stack([a.ravel() for a in np.meshgrid(s, s, indexing="ij")], 1)
    inner = ((pos > h / 2) & (pos < L - h / 2)).all(1)
    pos[inner] += rng.uniform(-0.3 * h, 0.3 * h, (int(inner.sum()), 2))
    return pos, Delaunay(pos).simplices.astype(np.int64)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["grid", "mesh"])
    ap.add_argument("--n", type=int, default=128, help="grid points per axis")
    ap.add_argument("--points", type=int, default=4000, help="mesh points (about: a square lattice is jittered)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=".")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.what == "grid":
        u, v = pearson_initial(grid_points(a.n), a.seed)
        np.save(out / "u0.npy", u)
        np.save(out / "v0.npy", v)
        print(f"wrote {out / 'u0.npy'}, {out / 'v0.npy'} ({len(u)} nodes)")
    else:
        pos, cells = delaunay_mesh(a.points, a.seed)
        np.savez(out / "mesh.npz", pos=pos, cells=cells)
        u, v = pearson_initial(pos, a.seed)
        np.save(out / "mesh_u0.npy", u)
        np.save(out / "mesh_v0.npy", v)
        print(f"wrote {out / 'mesh.npz'} ({len(pos)} points, {len(cells)} triangles) and "
              "mesh_u0.npy, mesh_v0.npy")


if __name__ == "__main__":
    main()
