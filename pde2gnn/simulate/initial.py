"""The simulation graph (:func:`build_graph`) and the random initial states
(:func:`initial_conditions`)."""
from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Optional

import numpy as np

from pde2gnn.graph import construction as graphs
from pde2gnn.errors import DataError, OptionError
from pde2gnn.simulate.config import ICS, SimulationConfig


def build_graph(cfg: SimulationConfig, box, rng: np.random.Generator):
    """(pos [N, D] or None, edge_index [2, E], description)."""
    g = cfg.graph
    if g in graphs.NDCN_GRAPHS:
        ei = graphs.ndcn_graph(g, cfg.nodes, cfg.seed)
        return None, ei, f"{g} graph (seed {cfg.seed})"
    if g == "grid":
        if box is None:
            raise OptionError("graph 'grid' needs a spec with a domain (or use --graph Cora)")
        pos, ei = graphs.grid_graph((cfg.n,) * box.dim, box.low, box.high, box.periodic)
        return pos, ei, f"{'x'.join([str(cfg.n)] * box.dim)} {'periodic ' if box.periodic else ''}grid"
    if g in ("points", "delaunay"):
        if box is None:
            raise OptionError(f"graph '{g}' needs a spec with a domain")
        pos = graphs.random_points(cfg.points, box.low, box.high, rng)
        if g == "delaunay":
            return pos, graphs.delaunay_graph(pos), f"{cfg.points} random points, Delaunay"
        ei = graphs.knn_graph(pos, cfg.k, box.low, box.high, box.periodic)
        return pos, ei, f"{cfg.points} random points, symmetric {cfg.k}-NN"
    from pde2gnn.data.datasets import load_dataset
    if box is not None:
        raise OptionError(f"data set '{g}' has no node coordinates but the spec declares a "
                          "domain; use a spec without a domain (e.g. heat)")
    data = load_dataset(g, cfg.data_root)
    return None, data.edge_index, f"{g} graph ({data.num_nodes} nodes)"


def initial_conditions(cfg: SimulationConfig, pos: Optional[np.ndarray], box, n: int, count: int,
                       rng: np.random.Generator) -> np.ndarray:
    """``count`` initial states ``[n, count]`` float64.

    ``fourier``: f0 = sum_{|k_a| <= N} lambda cos(k . x') + gamma sin(k . x') with x' the
    coordinates scaled to [0, 2pi) per axis and lambda, gamma i.i.d. normal with standard
    deviation 1 / (2N + 1)^(D/2), so f0 has unit variance (PDE-Net, Long et al. 2018; PA-DGN
    appendix A.1 with N = 9). ``bumps``: 1-3 Gaussian bumps of height 1 and width 5-15 % of the
    box. ``noise``: i.i.d. standard normal values.
    """
    ic = cfg.ic
    if ic == "noise":
        return rng.standard_normal((n, count))
    if ic == "ndcn":
        m = int(round(math.sqrt(n)))
        if m * m != n:
            raise OptionError(f"initial condition 'ndcn' lays the nodes out on a square; {n} "
                              "nodes is not a square number")
        x0 = np.zeros((m, m))
        b = lambda lo, hi: slice(int(lo * m), int(hi * m))
        x0[b(0.05, 0.25), b(0.05, 0.25)] = 25
        x0[b(0.45, 0.75), b(0.45, 0.75)] = 20
        x0[b(0.05, 0.25), b(0.35, 0.65)] = 17
        return np.repeat(x0.reshape(n, 1), count, 1)
    if ic in ("fourier", "bumps"):
        if pos is None:
            raise OptionError(f"initial condition '{ic}' needs node coordinates (a spec with a "
                              "domain); use --ic noise or a .npy file")
        L = box.extent
        xs = (pos - np.asarray(box.low)) / L * 2 * np.pi               # [n, D]
        if ic == "fourier":
            N, D = cfg.modes, pos.shape[1]
            ks = np.array(list(itertools.product(range(-N, N + 1), repeat=D)), float)  # [K, D]
            phase = xs @ ks.T                                          # [n, K]
            basis = np.concatenate([np.cos(phase), np.sin(phase)], 1)  # [n, 2K]
            coef = rng.standard_normal((basis.shape[1], count)) / (2 * N + 1) ** (D / 2)
            return basis @ coef
        out = np.zeros((n, count))
        for b in range(count):
            for _ in range(rng.integers(1, 4)):
                c = np.asarray(box.low) + L * rng.random(len(L))
                w = L.min() * rng.uniform(0.05, 0.15)
                d = pos - c
                if box.periodic:
                    d = d - L * np.round(d / L)
                out[:, b] += np.exp(-(d ** 2).sum(1) / (2 * w ** 2))
        return out
    p = Path(ic)
    if p.suffix != ".npy" or not p.is_file():
        raise OptionError(f"unknown initial condition '{ic}' (choose {', '.join(ICS)} or a "
                          ".npy file)")
    a = np.load(p).astype(np.float64)
    if a.ndim == 1:
        a = np.repeat(a[:, None], count, 1)
    if a.shape != (n, count):
        raise DataError(f"{p}: initial conditions must have shape [{n}] or [{n}, {count}], got "
                        f"{list(a.shape)}")
    return a
