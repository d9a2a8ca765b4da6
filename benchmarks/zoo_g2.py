"""Time of one training step (forward, cross-entropy, backward, optimiser step) of G^2-GraphSAGE:
the compiled library/g2.pde in pde2gnn's node-classification model, as `pde2gnn train g2` runs
it (g2.toml: hidden 256, 6 Euler steps of size 1, input dropout 0.5, dropout 0.1, Adam with
weight decay 0.01; sparse input features), against the reference
code's G2_GNN (tk-rusch/gradientgating heterophilic_graphs/models.py, imported from a clone given
by --ref, with a stand-in for its one torch_scatter call: --shim; neither is part of this
repository) with its run_GNN.py defaults (the same values) and torch.optim.Adam, on the same
data set and split, in the same process, in interleaved blocks (median over blocks). Both codes
are timed on the raw directed edge list (``reference``; ``pde2gnn_directed``: `pde2gnn train
g2 --directed`, the same edges, so the same work per step; ours averages the gate over the
edges a node receives, the reference over those it sends) and on pde2gnn's default undirected
graph (``pde2gnn``, ``reference_undirected``).

Prints the medians and the ratios reference / variant on the same graph.

    OMP_NUM_THREADS=1 python benchmarks/zoo_g2.py --ref /tmp/ref_g2/heterophilic_graphs \\
        --shim /tmp/ref_g2/shim [--dataset cornell] [--clock cpu]
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interleaved, parser, step_fn  # noqa: E402

from pde2gnn.data.datasets import load_dataset  # noqa: E402
from pde2gnn.models.continuous_gnn import ContinuousGNN  # noqa: E402
from pde2gnn.models.features import as_model_input  # noqa: E402
from pde2gnn.train.tasks.node_classification import make_optimizer  # noqa: E402
from pde2gnn.train.config import load_defaults, make_config  # noqa: E402


def main() -> None:
    ap = parser(5)
    ap.add_argument("--ref", required=True, help="the reference's heterophilic_graphs folder")
    ap.add_argument("--shim", required=True, help="folder holding the torch_scatter stand-in")
    ap.add_argument("--dataset", default="cornell")
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall time, or this process's CPU time (time.process_time: on a shared "
                    "machine other jobs' load does not inflate it; one thread)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sys.path[:0] = [args.shim, args.ref]
    from models import G2_GNN  # the reference's model  # noqa: E402
    from torch_geometric.data import Data
    from torch_geometric.datasets import WebKB

    data = load_dataset(args.dataset, args.data_root)
    train = data.train_mask[:, 0]
    classes = int(data.y.max()) + 1
    raw = WebKB(str(Path(args.data_root or "/tmp/data") / "WebKB"), args.dataset)[0]
    directed = Data(x=raw.x, edge_index=raw.edge_index)
    undirected = Data(x=data.x, edge_index=data.edge_index)
    torch.manual_seed(0)
    spec = Path(__file__).resolve().parent.parent / "library" / "g2.pde"
    cfg = make_config(load_defaults(spec, args.dataset))     # g2.toml, as `pde2gnn train g2`
    ours = ContinuousGNN("g2", data, classes, cfg)
    xs, y = as_model_input(data.x), data.y
    fns = {"pde2gnn": step_fn(ours, lambda: ours(xs), y, train, make_optimizer(ours, cfg))}
    torch.manual_seed(0)
    ours_d = ContinuousGNN("g2", load_dataset(args.dataset, args.data_root, directed=True),
                           classes, cfg)
    fns["pde2gnn_directed"] = step_fn(ours_d, lambda: ours_d(xs), y, train,
                                      make_optimizer(ours_d, cfg))
    for name, graph in (("reference", directed), ("reference_undirected", undirected)):
        ref = G2_GNN(data.num_features, 256, classes, 6, "GraphSAGE", 2.5, 0.5, 0.1, False)
        opt = torch.optim.Adam(ref.parameters(), lr=0.003, weight_decay=0.01)
        fns[name] = step_fn(ref, lambda r=ref, g=graph: r(g), y, train, opt)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = interleaved(fns, args.blocks, args.repeats, "cpu", clock)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({
        "dataset": args.dataset, "blocks": args.blocks, "repeats": args.repeats,
        "clock": args.clock,
        "s_per_step_median": {k: round(v, 5) for k, v in med.items()},
        "ratio_reference_over": {k: round(med["reference"] / v, 3) for k, v in med.items()},
        "ratio_directed_reference_over_pde2gnn": round(
            med["reference"] / med["pde2gnn_directed"], 3),
        "ratio_undirected_reference_over_pde2gnn": round(
            med["reference_undirected"] / med["pde2gnn"], 3)}, indent=1))


if __name__ == "__main__":
    main()
