"""Does PyG give the same result as pde2gnn's own Delaunay graph and PPR encoding? (issue 22)

    PYTHONPATH=. python experiments/pyg_equiv/compare.py

Prints, for random inputs (fixed seeds): the edge-set difference between
graphs.delaunay_graph and torch_geometric.transforms Delaunay + FaceToEdge, and the largest
entry difference between posenc.ppr_dense and torch_geometric.transforms.GDC (exact PPR,
alpha 0.05, self-loop weight 1, symmetric in-normalisation, column out-normalisation, no
sparsification: threshold eps 0).
"""
import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import GDC, Delaunay, FaceToEdge

from pde2gnn.graph.construction import delaunay_graph
from pde2gnn.graph.posenc import ppr_dense


def edge_set(ei):
    return set(map(tuple, ei.t().tolist()))


for n, seed in ((50, 0), (500, 1), (2000, 2)):
    pos = np.random.default_rng(seed).uniform(size=(n, 2))
    ours = edge_set(delaunay_graph(pos))
    d = FaceToEdge()(Delaunay()(Data(pos=torch.tensor(pos, dtype=torch.float64))))
    pyg = edge_set(d.edge_index)
    print(f"delaunay n={n}: ours {len(ours)} directed edges, pyg {len(pyg)}, "
          f"only ours {len(ours - pyg)}, only pyg {len(pyg - ours)}")

# a regular 6 x 5 grid: four cocircular points per cell, the triangulation is not unique
gx, gy = np.meshgrid(np.arange(6.0), np.arange(5.0))
pos = np.stack([gx.ravel(), gy.ravel()], 1)
ours = edge_set(delaunay_graph(pos))
d = FaceToEdge()(Delaunay()(Data(pos=torch.tensor(pos, dtype=torch.float64))))
pyg = edge_set(d.edge_index)
print(f"delaunay 6x5 grid: ours {len(ours)} directed edges, pyg {len(pyg)}, "
      f"only ours {len(ours - pyg)}, only pyg {len(pyg - ours)}")

for n, p, seed in ((60, 0.1, 0), (400, 0.02, 1)):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(n, n, generator=g) < p
    a = torch.triu(a, 1)
    a = a | a.t()
    ei = a.nonzero().t().contiguous()
    ours = ppr_dense(ei, n, alpha=0.05)
    gdc = GDC(self_loop_weight=1, normalization_in="sym", normalization_out="col",
              diffusion_kwargs=dict(method="ppr", alpha=0.05),
              sparsification_kwargs=dict(method="threshold", eps=0.0), exact=True)
    d = gdc(Data(edge_index=ei, num_nodes=n))
    s = torch.zeros(n, n, dtype=torch.float64)
    s[d.edge_index[0], d.edge_index[1]] = d.edge_attr.double()
    diff = np.abs(s.numpy() - ours)
    diff_t = np.abs(s.numpy().T - ours)
    print(f"ppr n={n}, {ei.shape[1]} directed edges: max |GDC - ppr_dense| {diff.max():.3e}, "
          f"transposed {diff_t.max():.3e}, max entry {ours.max():.3e}, GDC dtype "
          f"{d.edge_attr.dtype}")
