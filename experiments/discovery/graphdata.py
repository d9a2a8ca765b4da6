"""Trajectories of a spec on a random geometric graph, in the `pde2gnn simulate` .npz layout.

`pde2gnn simulate --graph points` puts a *domain* on the nodes (geometric stencils); the
network dynamics here (heat with the combinatorial Laplacian, mutualistic, gene regulatory) have
no domain, so this script builds the graph itself: N uniform points in the unit square, an edge
between points closer than `radius` (networkx.random_geometric_graph), largest connected
component. Integration: torchdiffeq dopri5 in float64 at rtol 1e-9, atol 1e-11 (through
pde2gnn.integrate.solve.ODEBlock on the compiled spec), all trajectories side by side as channels.
"""
from __future__ import annotations

import argparse
import json
import time

import networkx as nx
import numpy as np
import torch

from pde2gnn.compiler.pipeline import compile as compile_spec
from pde2gnn.integrate.solve import ODEBlock, SolverConfig


def random_geometric_graph(n: int, radius: float, seed: int):
    """(pos [M, 2], edge_index [2, E] symmetric) of the largest component of an RGG."""
    g = nx.random_geometric_graph(n, radius, seed=seed)
    comp = sorted(max(nx.connected_components(g), key=len))
    g = nx.convert_node_labels_to_integers(g.subgraph(comp), ordering="sorted")
    pos = np.array([g.nodes[v]["pos"] for v in range(g.number_of_nodes())])
    e = np.array(list(g.edges()), dtype=np.int64).T
    return pos, np.concatenate([e, e[::-1]], 1)


def simulate_on_graph(spec: str, edge_index, n_nodes: int, x0: np.ndarray, times: np.ndarray,
                      params=None) -> np.ndarray:
    """frames [B, T, N] of `spec` (field node[d]) from x0 [B, N]."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        vf = compile_spec(spec, torch.as_tensor(edge_index), n_nodes, {"d": x0.shape[0]}, params)
        t = torch.tensor(times)
        with torch.no_grad():
            ys = ODEBlock(vf, float(t[-1]), SolverConfig("dopri5", 1e-9, 1e-11, max_nfe=10 ** 6))(
                torch.tensor(x0.T), t)
    finally:
        torch.set_default_dtype(old)
    return ys.permute(2, 0, 1).numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("--out", required=True)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--radius", type=float, default=0.2)
    ap.add_argument("--trajectories", type=int, default=20)
    ap.add_argument("--frames", type=int, default=51)
    ap.add_argument("--dt", type=float, default=0.02)
    ap.add_argument("--ic-low", type=float, default=0.0)
    ap.add_argument("--ic-high", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    spec = open(a.spec).read()
    pos, ei = random_geometric_graph(a.nodes, a.radius, a.seed)
    n = len(pos)
    rng = np.random.default_rng(a.seed)
    x0 = rng.uniform(a.ic_low, a.ic_high, (a.trajectories, n))
    times = np.arange(a.frames) * a.dt
    t0 = time.perf_counter()
    frames = simulate_on_graph(spec, ei, n, x0, times)
    perm = rng.permutation(a.trajectories)
    n_tr, n_va = int(round(0.7 * a.trajectories)), int(round(0.15 * a.trajectories))
    deg = np.bincount(ei[1], minlength=n)
    meta = {"spec": a.spec, "graph": f"random geometric graph, {a.nodes} points, radius "
            f"{a.radius}, largest component", "nodes": n, "edges": int(ei.shape[1]),
            "degree_min_mean_max": [int(deg.min()), float(deg.mean()), int(deg.max())],
            "solve_seconds": time.perf_counter() - t0, "options": vars(a)}
    # no `pos`: the dynamics have no domain (coordinates only define the graph)
    np.savez_compressed(a.out, frames=frames.astype(np.float64), times=times,
                        node_index=np.arange(n), edge_index=ei, full_edge_index=ei,
                        train=perm[:n_tr], val=perm[n_tr:n_tr + n_va], test=perm[n_tr + n_va:],
                        spec=np.array(spec), meta=np.array(json.dumps(meta)))
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
