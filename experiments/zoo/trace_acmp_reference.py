"""Run the ACMP reference code (ykiiiiii/ACMP, unedited) on the ten geom-gcn splits of a WebKB set,
one seed per split, with per-epoch diagnostics recorded from outside it
(pde2gnn.train.diagnostics.EpochTrace: training loss, train / val / test accuracy, evaluations
per forward pass, parameter and gradient norms, the optimiser's groups). Nothing of the
reference is copied here.

The reference's run_GNN.py parses its command line and then calls main(opt) five times on one
split: its data.py keeps column 0 of Texas' [N, 10] masks (and leaves Wisconsin / Cornell with
[N, 10] masks, which its accuracy code cannot index), and main() replaces the best_params.py
values by the command line (`opt = cmd_opt`), so the configuration that runs is run_GNN.py's
argument defaults (block constant, data_norm rw, self_loop_weight 1, beta 0, hidden 16, rk4 with
step 0.1 to T = 12.8, 99 epochs, the early-stop test integrator). This driver runs the same
main(opt) once per split k (torch / numpy seeded with k), with the masks of split k of the same
torch_geometric WebKB files the reference loads.

Usage (repository root; the reference fetched into REF, its stand-ins for torch_scatter /
torch_sparse / ogb / wandb / sklearn / pykeops / six on the path; see run_reference.sh):
  PYTHONPATH=$PWD:/tmp/ref_shim OMP_NUM_THREADS=1 python experiments/zoo/trace_acmp_reference.py \
      REF OUT.json --dataset texas [--splits 10] [--undirected-graph] [reference options, e.g.
      --beta 0.5 --no_early]
(--undirected-graph: a probe, the graph made undirected before the reference normalises it.)
Writes OUT.json (rewritten after every split; an existing OUT.json's finished splits are kept
and not rerun): per split the reference's returned (train, val, test) accuracy at its selected
epoch, the wall time of its epochs, and the per-epoch records; the mean / std of the test
accuracies (population std, as the reference's np.std).
"""
import ast
import json
import os
import sys
import time

import numpy as np
import torch

ref, out_path, rest = os.path.realpath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3:]
splits, undirected = 10, "--undirected-graph" in rest
if undirected:          # a probe: the graph made undirected (as pde2gnn's loader) before the
    rest.remove("--undirected-graph")       # reference's own normalisation
if "--splits" in rest:
    k = rest.index("--splits")
    splits = int(rest[k + 1])
    del rest[k:k + 2]
src = os.path.join(ref, "src")
sys.path.insert(0, src)
os.chdir(src)
import run_GNN  # noqa: E402  (its __main__ block is not run on import)
from GNN import GNN  # noqa: E402
from GNN_early import GNNEarly  # noqa: E402
from function_laplacian_diffusion_ACMP import LaplacianODEFunc  # noqa: E402
from torch_geometric.datasets import WebKB  # noqa: E402
from torch_geometric.utils import to_undirected  # noqa: E402
from pde2gnn.train.diagnostics import EpochTrace  # noqa: E402

# run_GNN.py's own argument parser: its __main__ block up to its five-run loop
tree = ast.parse(open(os.path.join(src, "run_GNN.py")).read())
main_block = [n for n in tree.body if isinstance(n, ast.If)][-1].body
stop = next(i for i, n in enumerate(main_block) if isinstance(n, ast.Assign)
            and getattr(n.targets[0], "id", "") == "test_acc_list")
sys.argv = ["run_GNN.py"] + rest
ns = dict(vars(run_GNN))
exec(compile(ast.Module(body=main_block[:stop], type_ignores=[]), "run_GNN.py", "exec"), ns)
cmd_opt = ns["opt"]

state = {"nfe": 0, "split": 0}
trace = EpochTrace(lambda m: isinstance(m, (GNN, GNNEarly)), None, None,
                   lambda m: state["nfe"], lambda m: (m.odeblock.odefunc.edge_index[0],
                                                      m.num_nodes))
get_dataset0 = run_GNN.get_dataset


def get_dataset(opt, data_dir, use_lcc=False):
    """The reference's data set, with the masks of geom-gcn split ``state['split']``."""
    ds = get_dataset0(opt, data_dir, use_lcc)
    full = WebKB(root=os.path.join(data_dir, opt["dataset"]), name=opt["dataset"])._data
    k = state["split"]
    ds.data.train_mask = full.train_mask[:, k].clone()
    ds.data.val_mask = full.val_mask[:, k].clone()
    ds.data.test_mask = full.test_mask[:, k].clone()
    if undirected:
        ds.data.edge_index = to_undirected(ds.data.edge_index, num_nodes=ds.data.num_nodes)
    d = ds.data
    trace.y, trace.masks = d.y, (d.train_mask, d.val_mask, d.test_mask)
    return ds


def pre(module, args):
    if isinstance(module, (GNN, GNNEarly)):
        state["nfe"] = 0
    elif isinstance(module, LaplacianODEFunc):
        state["nfe"] += 1


run_GNN.get_dataset = get_dataset
handle = torch.nn.modules.module.register_module_forward_pre_hook(pre)
runs = json.load(open(out_path))["runs"] if os.path.isfile(out_path) else []
for k in range(splits):
    if any(r["split"] == k for r in runs):       # finished by an earlier call (resumed)
        continue
    state["split"] = k
    torch.manual_seed(k)
    np.random.seed(k)
    trace.records = []
    start = time.perf_counter()
    with trace:
        train_acc, val_acc, test_acc, _, _ = run_GNN.main(dict(cmd_opt))
    wall = time.perf_counter() - start
    runs.append({"split": k, "train": train_acc, "val": val_acc, "test": test_acc,
                 "epochs": len(trace.records), "wall_s": round(wall, 2),
                 "records": trace.records})
    print(f"split {k}: val {val_acc:.4f} test {test_acc:.4f} ({len(trace.records)} epochs, "
          f"{wall:.1f} s)", flush=True)
    acc = np.array([r["test"] for r in runs]) * 100      # rewritten after every split
    epochs = sum(r["epochs"] for r in runs)
    json.dump({"code": "ykiiiiii/ACMP (reference)", "argv": rest, "opt": {
        k: v for k, v in cmd_opt.items() if isinstance(v, (int, float, str, bool, type(None)))},
        "mean": round(float(acc.mean()), 2), "std": round(float(acc.std()), 2),
        "s_per_epoch": round(sum(r["wall_s"] for r in runs) / epochs, 4), "runs": runs},
        open(out_path, "w"), indent=1)
handle.remove()
print(f"reference ACMP {cmd_opt['dataset']}: {acc.mean():.2f} +- {acc.std():.2f} over {splits} "
      f"splits -> {out_path}")
