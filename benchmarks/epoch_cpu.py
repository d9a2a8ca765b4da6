"""CPU time of one node-classification epoch of a library spec as `pde2gnn train SPEC --dataset
DS` builds it (its TOML's hidden size, steps, dropouts; sparse input features; the optimiser of
`make_optimizer`): one training step (forward, cross-entropy, backward, optimiser step) and one
evaluation forward pass, each the median of ``--repeats`` calls after one warm-up, timed with
the process's CPU time (``time.process_time``: other jobs on a shared machine inflate it much
less than wall time), one thread.

To compare two versions of the code, run it under each version's tree in turn, interleaved
(the figures of one version against another are ratios of such runs):

    for t in OLD_TREE NEW_TREE; do PYTHONPATH=$t OMP_NUM_THREADS=1 \\
        python benchmarks/epoch_cpu.py --spec g2 --dataset chameleon; done
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from pde2gnn.data.datasets import load_dataset
from pde2gnn.models.continuous_gnn import ContinuousGNN
from pde2gnn.models.features import as_model_input
from pde2gnn.resources import resolve_spec
from pde2gnn.train.config import load_defaults, make_config
from pde2gnn.train.tasks.node_classification import make_optimizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="g2")
    ap.add_argument("--dataset", default="chameleon")
    ap.add_argument("--split", default=None, help="a Planetoid set's split (geom-gcn)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_dataset(args.dataset, split=args.split)
    cfg = make_config(load_defaults(resolve_spec(args.spec), args.dataset))
    torch.manual_seed(0)
    model = ContinuousGNN(args.spec, data, int(data.y.max()) + 1, cfg)
    x, y = as_model_input(data.x), data.y
    train = (data.train_mask[:, 0] if data.train_mask.dim() == 2 else data.train_mask).bool()
    opt = make_optimizer(model, cfg)

    def step():
        model.train()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x)[train], y[train]).backward()
        opt.step()

    def evaluate():
        model.eval()
        with torch.no_grad():
            model(x)

    out = {}
    for name, fn in (("train step", step), ("evaluation", evaluate)):
        fn()
        times = []
        for _ in range(args.repeats):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        out[name] = statistics.median(times)
    print(f"{args.spec} on {args.dataset}: CPU s, train step {out['train step']:.4f}, evaluation "
          f"{out['evaluation']:.4f}, epoch {sum(out.values()):.4f}")


if __name__ == "__main__":
    main()
