"""The fast Runge-Kutta path against torchdiffeq and against the floor, measured in one run.

For each case it prints three times, measured in the same process, interleaved (so a busy
machine slows all three alike):

- fast: the pde2gnn integrator (``SolverConfig(integrator="pde2gnn")``), for an affine field
  (GRAND-l, linear GRAFF, convection-diffusion) in the Krylov form;
- stages: for an affine field, the pde2gnn integrator in the stage form
  (``SolverConfig(affine=False)``), as any other field is stepped;
- torchdiffeq: the same model and solver options through ``torchdiffeq.odeint``;
- floor: NFE x one evaluation of the compiled vector field (forward + backward for training,
  forward only for ``simulate``): what the solve would cost if the integrator's own
  arithmetic were free. For ``simulate`` the times are its ``solve_seconds`` (the solves,
  without compiling the spec).

and the ratios fast / floor and torchdiffeq / fast, the NFE of each path, and the memory that
backpropagation through the solve holds (bytes of the tensors autograd saves, counted once per
storage; on CUDA also ``torch.cuda.max_memory_allocated``).

Cases: GRAND-l on Cora and BLEND on Cora (a training epoch: forward, loss, backward, optimiser
step, with the library's configuration), graff_dd_bn on squirrel (GRAFF's Euler steps), and
``pde2gnn simulate convection_diffusion`` at PA-DGN size (1000 trajectories, 50 x 50 grid,
21 frames; forward only).

    python benchmarks/solve.py [--cases grand,beltrami,graff_dd_bn,simulate] [--device cpu]
        [--repeats 5] [--data-root DIR] [--threads N]
"""
from __future__ import annotations

import dataclasses
import statistics
import time

import torch

from pde2gnn.train.config import load_defaults, make_config
from pde2gnn.data.datasets import load_dataset
from pde2gnn.resources import resolve_spec
from pde2gnn.models.continuous_gnn import ContinuousGNN, as_model_input
from pde2gnn.train.tasks.node_classification import positional_input

from common import parser  # benchmarks/common.py

TRAIN_CASES = {"grand": "Cora", "beltrami": "Cora", "graff_dd_bn": "squirrel"}


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def saved_bytes(fn) -> int:
    """Bytes of the tensors autograd saves for backward while ``fn()`` runs (each storage
    once): the memory a backward pass through ``fn``'s graph needs besides its outputs."""
    seen = {}

    def pack(t):
        try:
            st = t.untyped_storage()
            seen[st.data_ptr()] = st.nbytes()
        except RuntimeError:        # sparse or other storage-less tensors
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(seen.values())


def train_case(spec, dataset, args):
    dev = args.device
    data = load_dataset(dataset, args.data_root)
    cfg = make_config(load_defaults(resolve_spec(spec), dataset))
    torch.manual_seed(0)
    model = ContinuousGNN(spec, data, int(data.y.max()) + 1, cfg,
                          pos=positional_input(data, cfg)).to(dev)
    x, y = as_model_input(data.x).to(dev), data.y.to(dev)
    m = (data.train_mask[:, 0] if data.train_mask.dim() == 2 else data.train_mask).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    configs = {}
    for integ in ("pde2gnn", "torchdiffeq"):
        c = make_config({**load_defaults(resolve_spec(spec), dataset), "integrator": integ})
        configs[integ] = c.solver
    if model.field.affine:
        configs["stages"] = dataclasses.replace(configs["pde2gnn"], affine=False)

    def loss_of():
        out = model(x)
        return torch.nn.functional.cross_entropy(out[m], y[m])

    def epoch():
        model.train()
        opt.zero_grad()
        loss_of().backward()
        opt.step()

    # floor: one evaluation of the field, forward + backward with respect to the state and
    # the per-solve constants, at the state the solve starts from
    field = model.field
    model.train()
    z = model.encode(x).detach().requires_grad_()
    t0 = torch.zeros((), device=dev, dtype=z.dtype)

    def prepare_leaves():
        """Prepare at z with the per-solve constants as leaves; the tensors to differentiate."""
        field.prepare(z)
        field._solve_cache = {k: (v.detach().requires_grad_() if torch.is_tensor(v) and
                                  v.is_floating_point() else v)
                              for k, v in field._solve_cache.items()}
        return [z] + [v for v in field._solve_cache.values()
                      if torch.is_tensor(v) and v.requires_grad]

    def one_eval():
        out = field(t0, z)
        torch.autograd.grad(out, leaves, torch.ones_like(out), allow_unused=True)

    leaves = prepare_leaves()

    times = {**{k: [] for k in configs}, "eval": []}
    nfe = {}
    for integ, c in configs.items():       # warm-up
        model.ode.config = c
        epoch()
    for _ in range(args.repeats):
        for integ, c in configs.items():
            model.ode.config = c
            _sync(dev)
            s = time.perf_counter()
            epoch()
            _sync(dev)
            times[integ].append(time.perf_counter() - s)
            nfe[integ] = model.ode.nfe_forward
        leaves = prepare_leaves()
        _sync(dev)
        s = time.perf_counter()
        for _ in range(10):
            one_eval()
        _sync(dev)
        times["eval"].append((time.perf_counter() - s) / 10)
    mem = {}
    for integ, c in configs.items():
        model.ode.config = c
        if str(dev).startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        mem[integ] = saved_bytes(loss_of) / 2 ** 20
        if str(dev).startswith("cuda"):
            mem[integ + "_cuda_peak"] = torch.cuda.max_memory_allocated() / 2 ** 20
    med = {k: statistics.median(v) for k, v in times.items()}
    floor = med["eval"] * nfe["pde2gnn"]
    return {"case": f"{spec} on {dataset} (training epoch, {configs['pde2gnn'].method})",
            "fast_s": med["pde2gnn"], "torchdiffeq_s": med["torchdiffeq"], "floor_s": floor,
            "stages_s": med.get("stages"), "nfe": nfe, "memory_mb": mem}


def simulate_case(args):
    import json
    import tempfile

    import numpy as np

    from pde2gnn.simulate import SimulationConfig, simulate

    res, nfe = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for integ in ("pde2gnn", "stages", "torchdiffeq"):
            cfg = SimulationConfig(integrator="torchdiffeq" if integ == "torchdiffeq"
                                   else "pde2gnn", affine=integ == "pde2gnn")
            meta = simulate("convection_diffusion", f"{tmp}/{integ}.npz", cfg, None,
                            progress=False)
            res[integ], nfe[integ] = meta["solve_seconds"], meta["nfe"]   # compiling excluded
        d = np.load(f"{tmp}/pde2gnn.npz")
        meta = json.loads(str(d["meta"]))
    # floor: one forward evaluation on a batch of 250 trajectories, x NFE
    from pde2gnn.compiler import pipeline as compiler
    from pde2gnn.graph.construction import grid_graph
    import math
    pos, ei = grid_graph((50, 50), (0.0, 0.0), (2 * math.pi, 2 * math.pi), True)
    field = compiler.compile("convection_diffusion", torch.as_tensor(ei), pos.shape[0],
                             dims={"d": 250}, inputs={"pos": torch.as_tensor(pos)})
    y = torch.randn(pos.shape[0], 250)
    field.prepare(y)
    t0 = torch.zeros(())
    with torch.no_grad():
        field(t0, y)
        s = time.perf_counter()
        for _ in range(20):
            field(t0, y)
        per = (time.perf_counter() - s) / 20
    return {"case": f"simulate convection_diffusion ({meta['options']['trajectories']} "
                    f"trajectories, {meta['graph']}, forward only)",
            "fast_s": res["pde2gnn"], "torchdiffeq_s": res["torchdiffeq"],
            "floor_s": per * nfe["pde2gnn"], "stages_s": res["stages"], "nfe": nfe,
            "memory_mb": {}}


def main():
    ap = parser(repeats=5)
    ap.add_argument("--cases", default="grand,beltrami,graff_dd_bn,simulate")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", help="write the results to this JSON file")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for case in args.cases.split(","):
        r = simulate_case(args) if case == "simulate" else \
            train_case(case, TRAIN_CASES[case], args)
        rows.append(r)
        mem = "  ".join(f"{k} {v:.1f} MiB" for k, v in r["memory_mb"].items())
        print(f"{r['case']}\n  fast {r['fast_s']:.3f} s   torchdiffeq {r['torchdiffeq_s']:.3f} s"
              f"   floor {r['floor_s']:.3f} s   | fast/floor {r['fast_s'] / r['floor_s']:.2f}"
              f"   torchdiffeq/fast {r['torchdiffeq_s'] / r['fast_s']:.2f}   NFE {r['nfe']}"
              + (f"\n  stage form {r['stages_s']:.3f} s   stages/fast "
                 f"{r['stages_s'] / r['fast_s']:.2f}" if r.get("stages_s") else "")
              + (f"\n  saved for backward: {mem}" if mem else ""), flush=True)
    if args.json:
        import json
        with open(args.json, "w") as f:
            json.dump({"device": args.device, "threads": torch.get_num_threads(),
                       "torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
