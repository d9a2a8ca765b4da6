"""`pde2gnn train` on a geom-gcn graph without its self-loops, as the NSD reference loads it
(neural-sheaf-diffusion utils/heterophilic.py WikipediaNetwork.process: remove_self_loops, then
to_undirected and coalesce; pde2gnn's load_geom_gcn keeps the raw self-loops, 50 on chameleon,
140 on squirrel, and nsd specs run with self_loops = false). An ablation (issue 39): wraps
pde2gnn.data.datasets.load_dataset, nothing else changes.

Usage: PYTHONPATH=$PWD python experiments/nsd/no_self_loops.py train SPEC --dataset chameleon ...
"""
import sys

from torch_geometric.utils import remove_self_loops

import pde2gnn.data.datasets as datasets
from pde2gnn.cli.commands import main

load0 = datasets.load_dataset


def load_dataset(*a, **k):
    data = load0(*a, **k)
    n = data.edge_index.shape[1]
    data.edge_index, _ = remove_self_loops(data.edge_index)
    print(f"self-loops removed: {n - data.edge_index.shape[1]} of {n} edges")
    return data


datasets.load_dataset = load_dataset
sys.exit(main(sys.argv[1:]))
