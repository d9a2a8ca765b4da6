"""Run the BLEND reference code (twitter-research/graph-neural-pde, unedited) with per-epoch
diagnostics recorded from outside it: imports its modules, wraps three of its functions
(get_dataset, apply_beltrami, the attention's squareplus) and torchdiffeq's adaptive step,
and hooks its model and optimiser through torch's global hooks
(pde2gnn.train.diagnostics.EpochTrace). Nothing of the reference is copied here.

Usage (repository root; the reference prepared as in benchmarks/reference/README.md):
  PYTHONPATH=$PWD:/tmp/ref_blend/site:/tmp/ref_blend/site2 OMP_NUM_THREADS=1 python \
    experiments/blend/trace_reference.py /tmp/ref_blend/graph-neural-pde OUT.json SEED \
    --dataset Citeseer --beltrami --pos_enc_type GDC --planetoid_split --not_lcc --no_early
  (every argument after SEED goes to run_GNN.py's parser; its best_params.py applies, except
  for `--set key=value` pairs, which replace a best_params.py value in memory, e.g.
  `--set dropout=0 --set input_dropout=0` for a deterministic comparison)
Writes OUT.json (per-epoch records, the options) and OUT.init.pt (the initial state_dict, the
positional encoding, the masks) for pde2gnn's side (trace_ours.py --init-from).
"""
import ast
import json
import os
import sys
import types

import numpy as np
import torch

ref, out_path, seed = os.path.realpath(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rest, overrides = sys.argv[4:], {}
while "--set" in rest:          # --set key=value: replaces a best_params.py value (a probe)
    k = rest.index("--set")
    key, value = rest[k + 1].split("=", 1)
    overrides[key] = ast.literal_eval(value)
    del rest[k:k + 2]
src = os.path.join(ref, "src")
sys.path.insert(0, src)
# optional imports of the reference that this run never uses (ogb: ogbn-arxiv only; pykeops:
# kNN rewiring; ray: hyperparameter search): empty stand-ins
for name, attrs in {"ogb": [], "ogb.nodeproppred": ["Evaluator", "PygNodePropPredDataset"],
                    "pykeops": [], "pykeops.torch": ["LazyTensor"], "ray": [],
                    "ray.tune": ["CLIReporter"]}.items():
    mod = types.ModuleType(name)
    for a in attrs:
        setattr(mod, a, type(a, (), {}))
    sys.modules.setdefault(name, mod)
sys.modules["ray"].tune = sys.modules["ray.tune"]
import sklearn.neighbors, sklearn.metrics      # noqa: E401  DistanceMetric moved in sklearn 1.x
sklearn.neighbors.DistanceMetric = sklearn.metrics.DistanceMetric

os.chdir(src)
import run_GNN  # noqa: E402  (its __main__ block is not run on import)
import GNN  # noqa: E402
import function_transformer_attention as FTA  # noqa: E402
from function_laplacian_diffusion import LaplacianODEFunc  # noqa: E402
from torchdiffeq._impl import rk_common  # noqa: E402
from pde2gnn.train.diagnostics import EpochTrace  # noqa: E402

# run_GNN.py's own argument parser: its __main__ block without the final main(opt) call
tree = ast.parse(open(os.path.join(src, "run_GNN.py")).read())
block = [n for n in tree.body if isinstance(n, ast.If)][-1].body[:-1]
sys.argv = ["run_GNN.py"] + rest
ns = dict(vars(run_GNN))
exec(compile(ast.Module(body=block, type_ignores=[]), "run_GNN.py", "exec"), ns)
cmd_opt = ns["opt"]
import best_params  # noqa: E402
best_params.best_params_dict[cmd_opt["dataset"]].update(overrides)

torch.manual_seed(seed)
np.random.seed(seed)
state = {"nfe": 0}
trace = EpochTrace(lambda m: isinstance(m, GNN.GNN), None, None, lambda m: state["nfe"],
                   lambda m: (m.odeblock.odefunc.edge_index[1], m.num_nodes))
saved = {}

get_dataset0, beltrami0, squareplus0 = run_GNN.get_dataset, run_GNN.apply_beltrami, FTA.squareplus
step0 = rk_common.RKAdaptiveStepsizeODESolver._adaptive_step


def get_dataset(*a, **k):
    ds = get_dataset0(*a, **k)
    d = ds.data
    trace.y, trace.masks = d.y, (d.train_mask, d.val_mask, d.test_mask)
    saved["masks"] = trace.masks
    return ds


def apply_beltrami(*a, **k):
    p = beltrami0(*a, **k)
    saved["pos_encoding"] = p.detach().clone()
    return p


def squareplus(*a, **k):
    out = squareplus0(*a, **k)
    trace.attention(out)
    return out


def adaptive_step(self, rk_state):
    trace.step(float(rk_state.t1), float(rk_state.dt))
    return step0(self, rk_state)


def pre(module, args):
    if isinstance(module, GNN.GNN):
        state["nfe"] = 0
        if "state_dict" not in saved:
            saved["state_dict"] = {k: v.detach().clone() for k, v in module.state_dict().items()}
    elif isinstance(module, LaplacianODEFunc):
        state["nfe"] += 1


run_GNN.get_dataset, run_GNN.apply_beltrami, FTA.squareplus = get_dataset, apply_beltrami, \
    squareplus
rk_common.RKAdaptiveStepsizeODESolver._adaptive_step = adaptive_step
handle = torch.nn.modules.module.register_module_forward_pre_hook(pre)
with trace:
    train_acc, val_acc, test_acc = run_GNN.main(cmd_opt)
handle.remove()
best = max(range(len(trace.records)), key=lambda k: (trace.records[k]["val"], -k))
json.dump({"code": "graph-neural-pde (reference)", "argv": rest, "set": overrides, "seed": seed,
           "result": {"train": train_acc, "val": val_acc, "test": test_acc},
           "best_epoch_trace": best, "records": trace.records}, open(out_path, "w"), indent=1)
torch.save(saved, out_path.replace(".json", ".init.pt"))
print(f"reference: val {val_acc:.4f} test {test_acc:.4f}; {len(trace.records)} epochs -> "
      f"{out_path}")
