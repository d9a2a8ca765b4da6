"""Where the CPU time of one stiff solve goes: cProfile (timer ``time.process_time``) of one
case of :mod:`benchmarks.stiff` with one method at one tolerance, grouped.

Groups (cumulative CPU seconds of the named functions; nested ones are not counted twice):
sparse LU (SuperLU's ``gstrf``), triangular solves (``SuperLU.solve``), the Jacobian
(``FieldJacobian.__call__``: coloured vector-Jacobian probes and their assembly), evaluations
of f or N (and products with L, IMEX), the one-time setup of the Jacobian (pattern, greedy
colouring, nested-dissection order), and the rest (the loop, stage sums, error norm, step
control, copies between torch and numpy). The profiler's own overhead inflates the total by
about 1.5-2x against an unprofiled run, mostly in the many small Python calls.

    OMP_NUM_THREADS=1 python benchmarks/stiff_profile.py ch64 rodas5p 1e-4
"""
from __future__ import annotations

import cProfile
import pstats
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import stiff  # noqa: E402

def _key(fn):
    """(file, first line, name) of a function, as cProfile records it."""
    import inspect
    return (inspect.getsourcefile(fn), inspect.getsourcelines(fn)[1], fn.__name__)


def groups():
    from pde2gnn.integrate import imex, jacobian, linsolve, rosenbrock
    return [
        ("sparse LU (SuperLU gstrf)", [("~", 0, "<built-in method scipy.sparse.linalg."
                                        "_dsolve._superlu.gstrf>")]),
        ("triangular solves (SuperLU.solve)", [("~", 0, "<method 'solve' of 'SuperLU' "
                                                "objects>")]),
        ("Jacobian: probes and assembly", [_key(jacobian.FieldJacobian.__call__)]),
        ("evaluations of f / N, products with L", [_key(rosenbrock._Rosenbrock.F),
                                                   _key(imex._Run.N),
                                                   _key(linsolve.StageSolver.L)]),
        ("Jacobian setup: pattern, colouring, order", [_key(jacobian.FieldJacobian.__init__),
                                                       _key(jacobian.nested_dissection)]),
    ]


def main():
    case, method, rtol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    f, y0, T, name, _ = stiff.build(case, "cpu")
    stiff.run_pde2gnn(f, y0, T, method, rtol)          # warm-up (imports, caches)
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    _, st = stiff.run_pde2gnn(f, y0, T, method, rtol)
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = max(v[3] for v in stats.values())
    print(f"{name}, {method}, rtol {rtol:g}: {st['N']} evaluations, {st['jac']} Jacobians, "
          f"{st['lu']} LUs; {total:.3f} s CPU profiled ({st['cpu']:.3f} s as measured "
          "inside the profiled run)")
    print(f"{'part':<44}{'CPU s':>8}{'share':>8}")
    rest = total
    for label, keys in groups():
        t = sum(stats[k][3] for k in keys if k in stats)
        rest -= t
        print(f"{label:<44}{t:>8.3f}{t / total:>8.0%}")
    print(f"{'the rest (loop, stage sums, norms, copies)':<44}{rest:>8.3f}{rest / total:>8.0%}")


if __name__ == "__main__":
    main()
