"""Time of one training step (forward, cross-entropy, backward, Adam step) of GraphCON-GCN:
the compiled library/graphcon.pde in pde2gnn's node-classification model against the reference
code's GraphCON_GCN (tk-rusch/GraphCON src/heterophilic_graphs/models.py, imported from a clone
given by --ref; it is not part of this repository), with the reference's best Texas parameters
(hidden 256, 2 layers, dt 1, dropout 0.68, res_version 2), on the same data, in the same run,
measured in alternating blocks; prints both and the ratio.

    git clone https://github.com/tk-rusch/GraphCON /tmp/ref/GraphCON
    OMP_NUM_THREADS=1 python benchmarks/zoo_graphcon.py --ref /tmp/ref/GraphCON [--dataset texas]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, timeit  # noqa: E402

from pde2gnn.data.datasets import load_dataset  # noqa: E402
from pde2gnn.integrate.solve import SolverConfig  # noqa: E402
from pde2gnn.models.continuous_gnn import ContinuousGNN
from pde2gnn.train.tasks.node_classification import TrainConfig  # noqa: E402


def step_fn(model, forward, x, y, mask):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        model.train()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(forward(x)[mask], y[mask])
        loss.backward()
        opt.step()
    return step


def main() -> None:
    ap = parser(30)
    ap.add_argument("--ref", required=True, help="a clone of tk-rusch/GraphCON")
    ap.add_argument("--dataset", default="texas")
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(args.ref) / "src" / "heterophilic_graphs"))
    from models import GraphCON_GCN  # the reference's model  # noqa: E402

    data = load_dataset(args.dataset, args.data_root)
    train = data.train_mask[:, 0] if data.train_mask.dim() == 2 else data.train_mask
    classes = int(data.y.max()) + 1
    torch.manual_seed(0)
    cfg = TrainConfig(hidden=256, time=2.0, solver=SolverConfig(method="euler", step_size=1.0),
                      self_loops=True, shared_init=True, decode_fields=["x"],
                      encoder_act="relu", dropout_at="encoder", decoder_act="none",
                      input_dropout=0.68, dropout=0.68)
    ours = ContinuousGNN("graphcon", data, classes, cfg)
    ref = GraphCON_GCN(nfeat=data.num_features, nhid=256, nclass=classes, dropout=0.68,
                       nlayers=2, dt=1.0, alpha=0.0, gamma=0.0, res_version=2)
    x, y = data.x, data.y
    fns = {"pde2gnn": step_fn(ours, ours, x, y, train),
           "reference": step_fn(ref, lambda _: ref(data), x, y, train)}
    times = {k: [] for k in fns}
    for _ in range(args.blocks):
        for k, fn in fns.items():
            times[k].append(timeit(fn, args.repeats, "cpu"))
    best = {k: min(v) for k, v in times.items()}
    print(json.dumps({"dataset": args.dataset, "threads": args.threads,
                      "s_per_step_pde2gnn": round(best["pde2gnn"], 5),
                      "s_per_step_reference": round(best["reference"], 5),
                      "ratio_pde2gnn_over_reference": round(best["pde2gnn"] / best["reference"],
                                                            3),
                      "blocks": {k: [round(t, 5) for t in v] for k, v in times.items()}}))


if __name__ == "__main__":
    main()
