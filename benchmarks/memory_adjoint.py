"""Peak memory and time of one forward + backward of a compiled field in an ODEBlock: adjoint
vs direct backpropagation, on a random graph (issue 22: guidance for very large graphs; issue
35: the discrete adjoint of the implicit / IMEX methods, e.g. ``--modes ark3,ark4``, keeps one
state per accepted step, printed as checkpoints, and no autograd graph).

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/memory_adjoint.py --edges 1000000
    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/memory_adjoint.py --edges 10000000 --modes rk4

Each (method, backprop) case runs in a fresh subprocess, one thread: random directed graph of
``--edges`` edges on N = edges / 10 nodes (uniform endpoints), x(0) ``[N, d]`` float32 with
requires_grad, ``heat`` (dt(x) = kappa lap(x), kappa 0.05) to T = ``--time`` (default 1; rk4: step 0.25; dopri5: rtol 1e-3,
atol 1e-4), loss = sum x(T)^2, one backward.
Peak memory is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after the backward minus its
value just before the forward (the graph, field and x(0) already built), MiB; time is the
wall time of forward + backward, s. Printed: each case, and the ratio adjoint / direct of
memory and time for each method (baseline: direct, measured in the same run).
"""
import argparse
import json
import resource
import subprocess
import sys
import time


def case(edges: int, d: int, method: str, adjoint: bool, spec: str, kappa: float,
         t_end: float, linear_solver: str = "auto") -> dict:
    import torch

    from pde2gnn.compiler import pipeline as compiler
    from pde2gnn.integrate.solve import ODEBlock, SolverConfig
    torch.set_num_threads(1)
    torch.manual_seed(0)
    n = max(edges // 10, 2)
    ei = torch.randint(0, n, (2, edges))
    field = compiler.compile(spec, ei, n, dims={"d": d}, params={"kappa": kappa})
    cfg = SolverConfig(method=method, adjoint=adjoint, linear_solver=linear_solver,
                       step_size=0.25 if method in ("rk4", "euler") else None)
    block = ODEBlock(field, t_end, cfg)
    x0 = torch.randn(n, d, requires_grad=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    loss = block(x0).square().sum()
    loss.backward()
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"edges": edges, "nodes": n, "d": d, "time": t_end, "method": method, "adjoint": adjoint,
            "peak_mib": (peak - before) / 1024, "time_s": wall,
            "grad_norm": float(x0.grad.norm()), "nfe": block.nfe_forward,
            "checkpoints": block.adjoint_report.get("checkpoints")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--edges", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--spec", default="heat")
    ap.add_argument("--time", type=float, default=1.0, help="integration time T (rk4: 4 T steps)")
    ap.add_argument("--kappa", type=float, default=0.05, help="diffusivity (0.05: rk4 with "
                    "step 0.25 is stable for the degrees of this graph)")
    ap.add_argument("--modes", default="rk4,dopri5", help="comma-separated methods")
    ap.add_argument("--linear-solver", default="auto",
                    help="implicit / IMEX methods: auto, cg, gmres or direct (cg / gmres: "
                    "matrix-free, nothing probed; the random graph is directed, so L is not "
                    "symmetric: gmres)")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one case
    a = ap.parse_args()
    if a.one:
        method, adj = a.one.split(":")
        print(json.dumps(case(a.edges, a.d, method, adj == "1", a.spec, a.kappa, a.time,
                              a.linear_solver)))
        return
    for method in a.modes.split(","):
        res = {}
        for adj in (0, 1):
            out = subprocess.run([sys.executable, __file__, "--edges", str(a.edges), "--d",
                                  str(a.d), "--spec", a.spec, "--kappa", str(a.kappa), "--time", str(a.time),
                                  "--linear-solver", a.linear_solver,
                                  "--one", f"{method}:{adj}"],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            res[adj] = r
            print(f"{method:7s} {'adjoint' if adj else 'direct ':7s} E {r['edges']} N "
                  f"{r['nodes']} d {r['d']} T {r['time']:g}: peak +{r['peak_mib']:.0f} MiB, "
                  f"{r['time_s']:.2f} s, |grad| {r['grad_norm']:.6g}, NFE {r['nfe']}"
                  + (f", {r['checkpoints']} checkpoints" if r["checkpoints"] else ""), flush=True)
        print(f"{method:7s} adjoint / direct: memory {res[1]['peak_mib'] / res[0]['peak_mib']:.3f}"
              f", time {res[1]['time_s'] / res[0]['time_s']:.2f}, grad rel diff "
              f"{abs(res[1]['grad_norm'] - res[0]['grad_norm']) / res[0]['grad_norm']:.2e}",
              flush=True)


if __name__ == "__main__":
    main()
