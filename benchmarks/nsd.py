"""Forward + backward time of the compiled O(d)-NSD vector field (library/nsd_bundle.pde, the
sheaf recomputed from the state at every evaluation) against a plain hand-written torch NSD
field (restriction network, block degree normalisation and the block Laplacian by gather /
index_add, no CSR) with the same weights, on the same graph, measured in the same run; prints
the ratio and checks that both give the same values.

    OMP_NUM_THREADS=1 python benchmarks/nsd.py --threads 1 [--dataset chameleon]

Against an earlier version of the code (``git archive <commit> | tar -x -C /tmp/old``):
``--baseline /tmp/old`` times the compiled field forward + backward under that tree and under
this one in turn, each in a fresh process (``--rounds`` interleaved rounds), and prints the
medians and their ratio:

    OMP_NUM_THREADS=1 python benchmarks/nsd.py --dataset squirrel --k 32 --baseline /tmp/old
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, timeit  # noqa: E402

from pde2gnn.compiler.backend.sheaf import householder_orthogonal  # noqa: E402
from pde2gnn.compiler.pipeline import compile as compile_spec  # noqa: E402
from pde2gnn.data.datasets import load_dataset  # noqa: E402


def handwritten_field(net, W1, W2, eps, edge_index, n, d, x):
    """tanh(eps) x - elu(Delta_F (I ⊗ W1) x W2) by hand, orthogonal maps scaled by edge
    weights, x [N, d*k]."""
    j, i = edge_index
    k = x.shape[1] // d
    X = x.reshape(n, d, k)
    xij = torch.cat([X[i].flatten(1), X[j].flatten(1)], 1)
    xji = torch.cat([X[j].flatten(1), X[i].flatten(1)], 1)
    w = torch.sigmoid(net.weight(xij)) * torch.sigmoid(net.weight(xji))      # [E, 1]
    F = householder_orthogonal(torch.tanh(net.lin(xij)), d) * w[:, :, None]  # map at the i end
    key = i * n + j
    rev = torch.searchsorted(key, j * n + i)                                  # (j, i) of (i, j)
    deg = torch.zeros(n, dtype=x.dtype).index_add_(0, i, w[:, 0] ** 2)
    s = (deg + 1).rsqrt()                           # (D + I)^-1/2, D = sum_e w_e^2 I for O(d)
    Y = (W1 @ X) @ W2
    Ys = s[:, None, None] * Y
    off = F.transpose(-1, -2) @ (F[rev] @ Ys[j])    # F_ij^T F_ji y_j
    LY = deg[:, None, None] * Ys - torch.zeros_like(Ys).index_add_(0, i, off)
    LY = s[:, None, None] * LY
    return (torch.tanh(eps).repeat_interleave(k) * x) - \
        torch.nn.functional.elu(LY.reshape(n, d * k))


def main() -> None:
    ap = parser(20)
    ap.add_argument("--dataset", default="chameleon")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--d", type=int, default=3)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--out", default="experiments/nsd/runs/bench.json")
    ap.add_argument("--baseline", default=None,
                    help="a tree of an earlier version: time it and this one, interleaved")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: this process's CPU time (one thread on a shared machine)")
    ap.add_argument("--compiled-only", action="store_true",
                    help="time the compiled field alone and print its seconds as JSON")
    a = ap.parse_args()
    if a.baseline:
        return against_baseline(a)
    torch.set_num_threads(a.threads)
    data = load_dataset(a.dataset, a.data_root)
    n, d, k = data.num_nodes, a.d, a.k
    torch.manual_seed(0)
    from torch_geometric.utils import remove_self_loops
    edge_index = remove_self_loops(data.edge_index)[0]   # as the training runs (self_loops false)
    vf = compile_spec("nsd_bundle", edge_index, n, dims={"d": d, "k": k})
    with torch.no_grad():
        for p in vf.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    order = torch.argsort(vf.graph.i * n + vf.graph.j)
    ei = torch.stack([vf.graph.j, vf.graph.i])[:, order]   # row 0 j, row 1 i, sorted by (i, j)
    x = torch.randn(n, d * k, requires_grad=True)
    L = vf.learned()
    t0 = torch.tensor(0.0)

    def compiled():
        vf.prepare(x)
        vf(t0, x).square().sum().backward()

    def hand():
        handwritten_field(vf.nets.F, L["W1"], L["W2"], L["eps"], ei, n, d, x) \
            .square().sum().backward()
    if a.compiled_only:
        clock = time.process_time if a.clock == "cpu" else time.perf_counter
        print(json.dumps({"compiled_s": timeit(compiled, a.repeats, a.device, clock)}))
        return
    vf.prepare(x)
    err = (vf(t0, x) - handwritten_field(vf.nets.F, L["W1"], L["W2"], L["eps"], ei, n, d,
                                         x)).abs().max().item()
    times = {"compiled": [], "handwritten": []}
    for _ in range(3):                                # interleaved
        times["compiled"].append(timeit(compiled, a.repeats, a.device))
        times["handwritten"].append(timeit(hand, a.repeats, a.device))
    tc, th = min(times["compiled"]), min(times["handwritten"])
    out = {"dataset": a.dataset, "nodes": n, "edges": int(edge_index.shape[1]), "d": d,
           "k": k, "threads": a.threads, "compiled_s": tc, "handwritten_s": th,
           "ratio_compiled_over_handwritten": tc / th, "max_abs_difference": err,
           "command": " ".join(["python"] + sys.argv)}
    _report(a.out, out, f"NSD (nsd_bundle, O(d), d={d}, k={k}) on {a.dataset} ({n} nodes): "
            f"forward+backward compiled {tc * 1e3:.2f} ms, hand-written {th * 1e3:.2f} ms, "
            f"ratio {tc / th:.2f} (max |difference| {err:.1e})")


def _report(path: str, result: dict, line: str) -> None:
    """Print ``line`` and write ``result`` as JSON to ``path``."""
    print(line)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=1))


def against_baseline(a) -> None:
    """Median seconds of the compiled field under ``a.baseline`` and under this tree, each
    measured in ``a.rounds`` fresh processes, alternating; prints old / new."""
    here = str(Path(__file__).resolve().parents[1])
    args = [sys.executable, str(Path(__file__).resolve()), "--compiled-only", "--dataset",
            a.dataset, "--threads", str(a.threads), "--d", str(a.d), "--k", str(a.k),
            "--repeats", str(a.repeats), "--device", a.device, "--clock", a.clock]
    if a.data_root:
        args += ["--data-root", a.data_root]
    times = {"old": [], "new": []}
    for _ in range(a.rounds):
        for name, tree in (("old", a.baseline), ("new", here)):
            env = dict(os.environ, PYTHONPATH=tree, OMP_NUM_THREADS=str(a.threads))
            out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
            times[name].append(json.loads(out.stdout.strip().splitlines()[-1])["compiled_s"])
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    res = {"dataset": a.dataset, "d": a.d, "k": a.k, "threads": a.threads, "clock": a.clock,
           "baseline": a.baseline,
           "old_s": times["old"], "new_s": times["new"], "old_median_s": old,
           "new_median_s": new, "ratio_old_over_new": old / new,
           "command": " ".join(["python"] + sys.argv)}
    _report(a.out, res, f"NSD field forward+backward (nsd_bundle, d={a.d}, k={a.k}) on "
            f"{a.dataset}: old {old * 1e3:.1f} ms, new {new * 1e3:.1f} ms ({a.clock} time, "
            f"medians of {a.rounds} interleaved rounds), old / new {old / new:.2f}")


if __name__ == "__main__":
    main()
