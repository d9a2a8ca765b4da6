"""The cost of a boundary condition: one evaluation of heat on a grid with and without ``bc``.

Compiles ``dt(u) = lap(u)`` (and a reaction-diffusion ``lap(u) + u - u^3``) on an n x n
vertex-centred grid, plain (the default zero-flux walls) and with the conditions below (every
kind: Dirichlet constant / position- / time-dependent, Neumann, Robin with constant and varying
a, b, on faces and on a node mask), and prints the median time of one evaluation f(t, y) over
rounds of interleaved repeats, and its ratio to the plain spec measured in the same run (the
issue's bound: at most 1.10), with the spread: the quartiles of the ratio within each round.

``--clock cpu`` (the default) measures the calling thread's CPU time (``time.thread_time``;
with one torch thread all the work runs there), which a shared, loaded machine disturbs far
less than wall time (``--clock wall``): a process waiting for a core is not charged.

    python benchmarks/boundary.py [--n 256] [--channels 4] [--repeats 50] [--rounds 7]
                                  [--clock cpu|wall] [--only SUB[,SUB...]]
"""
from __future__ import annotations

import random
import statistics
import time

import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs

from common import parser  # benchmarks/common.py

HEAD = "model heat\nfield u : node[C]\ndomain pos : [0, 1] x [0, 1]\n"
MASK = "input wall : node mask\n"      # the nodes within 0.05 of the centre (about 1 %)
CASES = {
    "no condition": "",
    "walls dirichlet(0)": "bc u : walls dirichlet(0)\n",
    "walls neumann(0)": "bc u : walls neumann(0)\n",
    "x = 0 dirichlet(2 + y)": "bc u : x = 0 dirichlet(2 + y)\n",
    "x = 0 dirichlet(sin(t) * y), t-dependent": "bc u : x = 0 dirichlet(sin(t) * y)\n",
    "y = 1 robin(1, 2, cos(t)), t-dependent": "bc u : y = 1 robin(1, 2, cos(t))\n",
    "x = 1 neumann(sin(t) * y), t-dependent": "bc u : x = 1 neumann(sin(t) * y)\n",
    "walls robin(1 + x, 2 + y, 1), a, b vary in space": "bc u : walls robin(1 + x, 2 + y, 1)\n",
    "x = 1 robin(1 + y, 2 + sin(t), 1), b in time": "bc u : x = 1 robin(1 + y, 2 + sin(t), 1)\n",
    "mask dirichlet(sin(t))": MASK + "bc u : wall dirichlet(sin(t))\n",
    "mask neumann(cos(t) * x)": MASK + "bc u : wall neumann(cos(t) * x)\n",
    "mask robin(1, 2, sin(t))": MASK + "bc u : wall robin(1, 2, sin(t))\n",
}


def main():
    ap = parser(repeats=50)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--only", default="", help="run the cases whose name contains one of these (comma-separated)")
    args = ap.parse_args()
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    cases = {k: v for k, v in CASES.items()
             if k == "no condition" or any(w in k for w in args.only.split(","))}
    dev, n = args.device, args.n
    pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1))
    torch.manual_seed(0)
    y = torch.randn(n * n, args.channels, device=dev)
    t = torch.tensor(0.3, device=dev)
    p = torch.tensor(pos).float()
    wall = ((p - 0.5) ** 2).sum(1) < 0.05 ** 2
    print(f"grid {n}x{n} (N={n * n}, E={ei.shape[1]}), {args.channels} channels, device {dev}, "
          f"torch threads {torch.get_num_threads()}, {args.clock} time, mask of "
          f"{int(wall.sum())} nodes")
    for rhs in ("lap(u)", "lap(u) + u - u^3"):
        fields = {}
        for name, bc in cases.items():
            spec = HEAD.replace("C", str(args.channels)) + bc + f"dt(u) = {rhs}\n"
            inputs = {"pos": p, **({"wall": wall} if bc.startswith(MASK) else {})}
            f = compiler.compile(spec, ei, n * n, inputs=inputs)
            f = f.to(dev)
            f.prepare(y)
            fields[name] = f
        times = {k: [] for k in fields}
        order = random.Random(0)
        with torch.no_grad():
            for _ in range(args.rounds):
                # interleaved, in a new order each round: load changes and cache effects of the
                # neighbouring case hit every case alike
                for k in order.sample(list(fields), len(fields)):
                    f = fields[k]
                    f(t, y)
                    t0 = clock()
                    for _ in range(args.repeats):
                        f(t, y)
                    if dev == "cuda":
                        torch.cuda.synchronize()
                    times[k].append((clock() - t0) / args.repeats)
        base = statistics.median(times["no condition"])
        print(f"dt(u) = {rhs}")
        for k, v in times.items():
            m = statistics.median(v)
            # the spread: quartiles of the ratio within each round (same load for both)
            per = [a / b for a, b in zip(v, times["no condition"])]
            q = statistics.quantiles(per, n=4) if len(per) > 1 else [per[0]] * 3
            print(f"  {k:50s} {m * 1e3:8.3f} ms   ratio {m / base:5.2f}   "
                  f"per round {q[0]:4.2f}-{q[2]:4.2f}")


if __name__ == "__main__":
    main()
