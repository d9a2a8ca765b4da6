"""Compile time of deeply nested and chained specs (issue 15): parse -> check -> to_stencil ->
explain(python) -> compile -> one evaluation + backward, one case per line, JSON to stdout.

    OMP_NUM_THREADS=1 PYTHONPATH=. python experiments/fuzz/compile_time.py [--limit S] [CASE ...]
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from fuzzing import CaseTimeout, run_pipeline, time_limit  # noqa: E402

HEAD = "model m\nfield x : node[d]\n"


def nest(f, k):
    s = "x"
    for _ in range(k):
        s = f"{f}({s})"
    return s


CASES = {
    **{f"tanh_depth{k}": HEAD + f"dt(x) = {nest('tanh', k)}" for k in (8, 9, 10, 20)},
    "lap_depth10": HEAD + f"dt(x) = {nest('lap', 10)}",
    "sigmoid_depth10": HEAD + f"dt(x) = {nest('sigmoid', 10)}",
    "let_chain10_tanh": HEAD + "let a0 = x\n" + "".join(
        f"let a{k} = tanh(a{k - 1})\n" for k in range(1, 11)) + "dt(x) = a10",
    "let_chain10_tanh_plus": HEAD + "let a0 = x\n" + "".join(
        f"let a{k} = tanh(a{k - 1}) + a{k - 1}\n" for k in range(1, 11)) + "dt(x) = a10",
    "let_chain10_lap": HEAD + "let a0 = x\n" + "".join(
        f"let a{k} = lap(a{k - 1}) + a{k - 1}\n" for k in range(1, 11)) + "dt(x) = a10",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--limit", type=float, default=120.0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    for name in a.cases or CASES:
        t0 = time.perf_counter()
        try:
            with time_limit(a.limit):
                err = run_pipeline(CASES[name])
            status = "ok" if err is None else f"{type(err).__name__}: {err}"
        except CaseTimeout:
            status = f"timeout after {a.limit} s"
        except Exception as e:  # noqa: BLE001 - recorded, not hidden
            status = f"{type(e).__name__}: {e}"
        print(json.dumps({"case": name, "seconds": round(time.perf_counter() - t0, 3),
                          "status": status[:200]}), flush=True)


if __name__ == "__main__":
    main()
