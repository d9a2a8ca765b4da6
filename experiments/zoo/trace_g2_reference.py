"""Run the G^2 reference code (tk-rusch/gradientgating heterophilic_graphs, unedited) on one
geom-gcn split with per-epoch diagnostics recorded from outside it
(pde2gnn.train.diagnostics.EpochTrace: training loss, train / val / test accuracy, parameter
and gradient norms): imports its run_GNN / models / data_handling modules and calls its
``train(args, split)`` with its parser's defaults. Nothing of the reference is copied here.

Probes (each replaces one thing in memory, to measure one difference from pde2gnn):
  --undirected   the graph made undirected (torch_geometric.utils.to_undirected), as
                 pde2gnn.data.datasets.load_geom_gcn loads it; the reference uses the raw
                 directed geom-gcn edge list.
  --gate-in      the gate's mean over the edges entering i (edge_index[1], pde2gnn's mean_j on
                 a directed graph) instead of the edges leaving i (edge_index[0]).

Usage (torch_scatter replaced by a stand-in on torch_geometric.utils.scatter, see
experiments/zoo/run_reference.sh):
  PYTHONPATH=$PWD:SHIM OMP_NUM_THREADS=1 python experiments/zoo/trace_g2_reference.py \
      REF/heterophilic_graphs OUT.json --dataset chameleon --split 0 --seed 0 [--epochs E] \
      [--undirected] [--gate-in] [--set NAME=VALUE ...]
The reference reads ../data/<name> relative to its folder (run from REF/heterophilic_graphs).
Writes OUT.json: {"code", "options", "best_epoch", "best_test", "records"}; the selected epoch
is the reference's rule (first epoch of the highest validation accuracy).
"""
import argparse
import json
import os
import sys
import time

import torch

from pde2gnn.train.diagnostics import EpochTrace

ref, out_path = os.path.realpath(sys.argv[1]), os.path.abspath(sys.argv[2])
ap = argparse.ArgumentParser()
ap.add_argument("--dataset", required=True)
ap.add_argument("--split", type=int, default=0)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--epochs", type=int, default=None, help="the reference's patience (200)")
ap.add_argument("--undirected", action="store_true")
ap.add_argument("--gate-in", action="store_true")
ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                help="replace one of the runner's arguments (e.g. lr=0.01, nhid=128): a "
                     "configuration the reference's author advises searching for")
opt = ap.parse_args(sys.argv[3:])

sys.path.insert(0, ref)
os.chdir(ref)
sys.argv = ["run_GNN.py"]                 # its parser's defaults
import models  # noqa: E402  (the reference's)
import run_GNN  # noqa: E402

parser_defaults = {"dataset": opt.dataset, "GNN": "GraphSAGE", "nhid": 256, "nlayers": 6,
                   "epochs": 500, "patience": 200, "lr": 0.003, "drop_in": 0.5, "drop": 0.1,
                   "weight_decay": 0.01, "G2_exp": 2.5, "use_val_acc": True,
                   "use_G2_conv": False, "device": "cpu"}
if opt.epochs is not None:
    parser_defaults["patience"] = opt.epochs
for item in opt.set:
    name, value = item.split("=", 1)
    if name not in parser_defaults:
        ap.error(f"--set {item}: the runner has no argument {name!r}")
    default = parser_defaults[name]
    parser_defaults[name] = (value.lower() in ("1", "true") if isinstance(default, bool)
                             else type(default)(value))
args = argparse.Namespace(**parser_defaults)

loaded = {}
get_data = run_GNN.get_data


def get_data_probe(name, split=0):
    data = get_data(name, split)
    if opt.undirected:
        from torch_geometric.utils import to_undirected
        data.edge_index = to_undirected(data.edge_index, num_nodes=data.num_nodes)
    loaded["data"] = data
    return data


run_GNN.get_data = get_data_probe
if opt.gate_in:
    scatter = models.scatter

    def scatter_in(src, index, dim=0, dim_size=None, reduce="sum"):
        ei = loaded["data"].edge_index      # |X_i - X_j| is symmetric: re-index by targets
        assert torch.equal(index, ei[0])
        return scatter(src, ei[1], dim, dim_size=dim_size, reduce=reduce)

    models.scatter = scatter_in

data = get_data(opt.dataset, opt.split)
masks = (data.train_mask, data.val_mask, data.test_mask)
trace = EpochTrace(lambda m: isinstance(m, models.G2_GNN), data.y, masks,
                   lambda m: m.nlayers, lambda m: (None, data.num_nodes))
torch.manual_seed(opt.seed)
start = time.perf_counter()
with trace:
    best_test = run_GNN.train(args, opt.split)
wall = time.perf_counter() - start
rec = trace.records
best = max(range(len(rec)), key=lambda k: (rec[k]["val"], -k))
json.dump({"code": "tk-rusch/gradientgating", "options": vars(opt), "args": parser_defaults,
           "best_epoch": best, "best_test": best_test, "wall_s": wall,
           "s_per_epoch": wall / len(rec), "records": rec}, open(out_path, "w"), indent=1)
print(f"{opt.dataset} split {opt.split}: test {100 * best_test:.2f} at epoch {best} "
      f"(val {100 * rec[best]['val']:.2f}), {len(rec)} epochs, {wall / len(rec):.3f} s/epoch")
