"""The cost of a boundary condition: one evaluation of heat on a grid with and without ``bc``.

Compiles ``dt(u) = lap(u)`` (and a reaction-diffusion ``lap(u) + u - u^3``) on an n x n
vertex-centred grid, plain (the default zero-flux walls) and with the conditions below, and
prints the median time of one evaluation f(t, y) over rounds of interleaved repeats, and its
ratio to the plain spec measured in the same run (the issue's bound: at most 1.10).

    python benchmarks/boundary.py [--n 256] [--channels 4] [--repeats 50] [--rounds 7]
"""
from __future__ import annotations

import statistics
import time

import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs

from common import parser  # benchmarks/common.py

HEAD = "model heat\nfield u : node[C]\ndomain pos : [0, 1] x [0, 1]\n"
CASES = {
    "no condition": "",
    "walls dirichlet(0)": "bc u : walls dirichlet(0)\n",
    "walls neumann(0)": "bc u : walls neumann(0)\n",
    "x = 0 dirichlet(2 + y)": "bc u : x = 0 dirichlet(2 + y)\n",
    "x = 0 dirichlet(sin(t) * y), t-dependent": "bc u : x = 0 dirichlet(sin(t) * y)\n",
    "y = 1 robin(1, 2, cos(t)), t-dependent": "bc u : y = 1 robin(1, 2, cos(t))\n",
}


def main():
    ap = parser(repeats=50)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    dev, n = args.device, args.n
    pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1))
    torch.manual_seed(0)
    y = torch.randn(n * n, args.channels, device=dev)
    t = torch.tensor(0.3, device=dev)
    print(f"grid {n}x{n} (N={n * n}, E={ei.shape[1]}), {args.channels} channels, device {dev}, "
          f"torch threads {torch.get_num_threads()}")
    for rhs in ("lap(u)", "lap(u) + u - u^3"):
        fields = {}
        for name, bc in CASES.items():
            spec = HEAD.replace("C", str(args.channels)) + bc + f"dt(u) = {rhs}\n"
            f = compiler.compile(spec, ei, n * n, inputs={"pos": torch.tensor(pos).float()})
            f = f.to(dev)
            f.prepare(y)
            fields[name] = f
        times = {k: [] for k in fields}
        with torch.no_grad():
            for _ in range(args.rounds):
                for k, f in fields.items():      # interleaved: load changes hit every case
                    f(t, y)
                    t0 = time.perf_counter()
                    for _ in range(args.repeats):
                        f(t, y)
                    if dev == "cuda":
                        torch.cuda.synchronize()
                    times[k].append((time.perf_counter() - t0) / args.repeats)
        base = statistics.median(times["no condition"])
        print(f"dt(u) = {rhs}")
        for k, v in times.items():
            m = statistics.median(v)
            print(f"  {k:42s} {m * 1e3:8.3f} ms   ratio {m / base:5.2f}")


if __name__ == "__main__":
    main()
