"""Time of one training step (forward, cross-entropy, backward, optimiser step) of GraphCON-GCN:
the compiled library/graphcon.pde in pde2gnn's node-classification model, as `pde2gnn train`
runs it (sparse input features, `as_model_input`; the optimiser of `make_optimizer`: fused
Adam), against the reference code's GraphCON_GCN (tk-rusch/GraphCON
src/heterophilic_graphs/models.py, imported from a clone given by --ref; it is not part of this
repository) with its own optimiser (torch.optim.Adam), with the reference's best Texas
parameters (hidden 256, 2 layers, dt 1, dropout 0.68, res_version 2), on the same data, in the
same process, measured in interleaved blocks (median over blocks). Also timed:

- ``reference_fused``: the reference with the fused Adam pde2gnn uses (same algorithm);
- ``pde2gnn_dense``: ours on dense features with torch.optim.Adam's default implementation;
- ``floor_pde2gnn`` / ``floor_reference``: the same step without the PDE (encoder, ReLU,
  dropout, decoder, loss, backward, optimiser; ours with sparse features and fused Adam, the
  reference's dense with its Adam): the part of the step a faster PDE cannot remove.

Prints the medians and the ratios reference / variant.

    git clone https://github.com/tk-rusch/GraphCON /tmp/ref/GraphCON
    OMP_NUM_THREADS=1 python benchmarks/zoo_graphcon.py --ref /tmp/ref/GraphCON [--dataset texas]
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interleaved, parser  # noqa: E402

from pde2gnn.data.datasets import load_dataset  # noqa: E402
from pde2gnn.integrate.solve import SolverConfig  # noqa: E402
from pde2gnn.models.continuous_gnn import ContinuousGNN  # noqa: E402
from pde2gnn.models.features import FeatureLinear, as_model_input, dropout_linear  # noqa: E402
from pde2gnn.train.tasks.node_classification import TrainConfig, make_optimizer  # noqa: E402

HIDDEN, DROPOUT, LR = 256, 0.68, 0.00155


def step_fn(model, forward, x, y, mask, opt):
    def step():
        model.train()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(forward(x)[mask], y[mask])
        loss.backward()
        opt.step()
    return step


class Head(nn.Module):
    """Encoder -> ReLU -> dropout -> decoder, no PDE (the floor of the step); ``sparse``: the
    features through pde2gnn's sparse encoder (FeatureLinear), else dense as the reference."""

    def __init__(self, features, classes, sparse):
        super().__init__()
        self.enc = FeatureLinear(features, HIDDEN) if sparse else nn.Linear(features, HIDDEN)
        self.dec = nn.Linear(HIDDEN, classes)
        self.drop, self.sparse = nn.Dropout(DROPOUT), sparse

    def forward(self, x):
        h = dropout_linear(x, self.enc, self.drop) if self.sparse else self.enc(self.drop(x))
        return self.dec(self.drop(torch.relu(h)))


def main() -> None:
    ap = parser(10)
    ap.add_argument("--ref", required=True, help="a clone of tk-rusch/GraphCON")
    ap.add_argument("--dataset", default="texas")
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall time, or this process's CPU time (time.process_time; one thread)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(args.ref) / "src" / "heterophilic_graphs"))
    from models import GraphCON_GCN  # the reference's model  # noqa: E402

    data = load_dataset(args.dataset, args.data_root)
    train = data.train_mask[:, 0] if data.train_mask.dim() == 2 else data.train_mask
    classes = int(data.y.max()) + 1
    torch.manual_seed(0)
    cfg = TrainConfig(hidden=HIDDEN, time=2.0, solver=SolverConfig(method="euler", step_size=1.0),
                      self_loops=True, shared_init=True, decode_fields=["x"],
                      encoder_act="relu", dropout_at="encoder", decoder_act="none",
                      input_dropout=DROPOUT, dropout=DROPOUT, lr=LR, weight_decay=0.000855)

    def reference():
        return GraphCON_GCN(nfeat=data.num_features, nhid=HIDDEN, nclass=classes,
                            dropout=DROPOUT, nlayers=2, dt=1.0, alpha=0.0, gamma=0.0,
                            res_version=2)

    def adam(m, **kw):
        return torch.optim.Adam(m.parameters(), lr=LR, weight_decay=cfg.weight_decay, **kw)

    xs, y = as_model_input(data.x), data.y
    ours, ours_dense = (ContinuousGNN("graphcon", data, classes, cfg) for _ in range(2))
    ref, ref_fused = reference(), reference()
    floor_ours, floor_ref = Head(data.num_features, classes, True), \
        Head(data.num_features, classes, False)
    fns = {"pde2gnn": step_fn(ours, ours, xs, y, train, make_optimizer(ours, cfg)),
           "reference": step_fn(ref, lambda _: ref(data), None, y, train, adam(ref)),
           "reference_fused": step_fn(ref_fused, lambda _: ref_fused(data), None, y, train,
                                      adam(ref_fused, fused=True)),
           "pde2gnn_dense": step_fn(ours_dense, ours_dense, data.x, y, train, adam(ours_dense)),
           "floor_pde2gnn": step_fn(floor_ours, floor_ours, xs, y, train,
                                    adam(floor_ours, fused=True)),
           "floor_reference": step_fn(floor_ref, floor_ref, data.x, y, train, adam(floor_ref))}
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = interleaved(fns, args.blocks, args.repeats, "cpu", clock)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({
        "dataset": args.dataset, "threads": args.threads, "blocks": args.blocks,
        "repeats": args.repeats, "clock": args.clock,
        "s_per_step_median": {k: round(v, 5) for k, v in med.items()},
        "ratio_reference_over": {k: round(med["reference"] / v, 3) for k, v in med.items()},
        "pde_share_pde2gnn": round(1 - med["floor_pde2gnn"] / med["pde2gnn"], 3),
        "blocks_s": {k: [round(t, 5) for t in v] for k, v in times.items()}}, indent=1))


if __name__ == "__main__":
    main()
