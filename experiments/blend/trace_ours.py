"""`pde2gnn train` with per-epoch diagnostics (pde2gnn.train.diagnostics.Pde2gnnTrace): training
loss, train / val / test accuracy, NFE, accepted step sizes, attention statistics, parameter and
gradient norms, the optimiser's groups; optionally starting from the reference's initial weights
(trace_reference.py's OUT.init.pt) to compare the two codes epoch by epoch from one state.

Usage (repository root, PDE2GNN_DATA set):
  PYTHONPATH=$PWD OMP_NUM_THREADS=1 python experiments/blend/trace_ours.py OUT.json \
      [--init-from REF.init.pt] -- train SPEC --dataset CiteSeer --seeds 1 ...
(everything after `--` is `pde2gnn`'s command line; one run: --seeds 1, --splits 1).
With --init-from, the reference's mx / mp / m2 (feature encoder, positional encoder, decoder;
the decoder's columns reordered from its [x, p] state to pde2gnn's [u, x]) and its alpha / beta
are copied into the model before its first forward pass, and with the reference's attention
(`--block attention`, exp kernel) its Q / K weights and c = b_Q - b_K (length scales and
output scales start at 1 in both, checked); the positional encodings must agree
(checked: the largest difference is printed and must be below 1e-5).
"""
import json
import sys

import torch

from pde2gnn.cli.commands import main
from pde2gnn.data.datasets import load_dataset
from pde2gnn.train.diagnostics import Pde2gnnTrace
from pde2gnn.train.tasks.node_classification import ContinuousGNN, _masks

out_path, argv = sys.argv[1], sys.argv[sys.argv.index("--") + 1:]
init = sys.argv[sys.argv.index("--init-from") + 1] if "--init-from" in sys.argv[:sys.argv.index(
    "--")] else None
dataset = argv[argv.index("--dataset") + 1]
split = argv[argv.index("--split") + 1] if "--split" in argv else "public"
data = load_dataset(dataset, split=split)
trace = Pde2gnnTrace(data.y, _masks(data, 0))
loaded = {}


@torch.no_grad()
def transplant(module, args):
    if not isinstance(module, ContinuousGNN) or loaded:
        return
    ref = torch.load(init, weights_only=False)
    sd, pos = ref["state_dict"], ref["pos_encoding"].to_dense() if ref[
        "pos_encoding"].is_sparse else ref["pos_encoding"]
    ours_pos = module.pos.to_dense() if module.pos.is_sparse else module.pos
    gap = float((ours_pos - pos.to(ours_pos)).abs().max())
    print(f"positional encodings: largest difference {gap:.3g}")
    assert gap < 1e-5, "the positional encodings differ: no transplant"
    module.encoder.weight.copy_(sd["mx.weight"])
    module.encoder.bias.copy_(sd["mx.bias"])
    module.pos_encoder.weight.copy_(sd["mp.weight"])
    module.pos_encoder.bias.copy_(sd["mp.bias"])
    p = sd["mp.weight"].shape[0]
    w = sd["m2.weight"]
    module.decoder.weight.copy_(torch.cat([w[:, -p:], w[:, :-p]], 1))
    module.decoder.bias.copy_(sd["m2.bias"])
    learn = module.field.learnables
    learn["alpha"].value.copy_(sd["odeblock.odefunc.alpha_train"])
    learn["beta"].value.copy_(sd["odeblock.odefunc.beta_train"])
    att = "odeblock.multihead_att_layer."
    if att + "Qx.weight" in sd:       # --block attention, exp_kernel: beltrami_exp's names
        for f, r in (("x", "x"), ("u", "p")):
            learn[f"Q_{f}"].value.copy_(sd[f"{att}Q{r}.weight"].t())
            learn[f"K_{f}"].value.copy_(sd[f"{att}K{r}.weight"].t())
            learn[f"c_{f}"].value.copy_(sd[f"{att}Q{r}.bias"] - sd[f"{att}K{r}.bias"])
        for ours, ref in (("l_x", "lengthscale_x"), ("l_u", "lengthscale_p")):
            assert float(sd[att + ref]) == 1.0 and abs(float(learn[ours].value) - 1.0) < 1e-6
        assert float(sd[att + "output_var_x"] * sd[att + "output_var_p"]) == 1.0
        assert float(learn["sigma"].value) == 1.0
    loaded["done"] = True


handle = torch.nn.modules.module.register_module_forward_pre_hook(transplant) if init else None
with trace:
    rc = main(argv)
if handle is not None:
    handle.remove()
best = max(range(len(trace.records)), key=lambda k: (trace.records[k]["val"], -k))
json.dump({"code": "pde2gnn", "argv": argv, "init_from": init, "rc": rc,
           "best_epoch_trace": best, "records": trace.records}, open(out_path, "w"), indent=1)
r = trace.records[best]
print(f"pde2gnn: best val {r['val']:.4f} test {r['test']:.4f} at epoch {best}; "
      f"{len(trace.records)} epochs -> {out_path}")
