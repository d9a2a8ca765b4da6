"""Epoch-by-epoch comparison of two per-epoch traces (trace_reference.py, trace_ours.py): a
table of the quantities both record and, for each, the first epoch where they differ by more
than a relative tolerance. Parameter names are matched across the codes by NAMES.

Usage: python experiments/blend/compare_traces.py REF.json OURS.json [--rtol 1e-3] [--every 1]
"""
import json
import sys

NAMES = {"encoder.weight": "mx.weight", "encoder.bias": "mx.bias",
         "pos_encoder.weight": "mp.weight", "pos_encoder.bias": "mp.bias",
         "decoder.weight": "m2.weight", "decoder.bias": "m2.bias",
         "field.learnables.alpha.value": "odeblock.odefunc.alpha_train",
         "field.learnables.beta.value": "odeblock.odefunc.beta_train"}


def flat(r):
    """One record -> {quantity: number}."""
    out = {k: r[k] for k in ("loss", "train", "val", "test", "nfe_train", "nfe_eval") if k in r}
    for ph in ("train", "eval"):
        st = r.get(f"steps_{ph}") or {}
        for k in ("accepted", "rejected", "dt_first", "dt_max"):
            if st.get(k) is not None:
                out[f"steps_{ph}.{k}"] = st[k]
        for k, v in (r.get(f"att_{ph}") or {}).items():
            out[f"att_{ph}.{k}"] = v
    for kind in ("param_norm", "grad_norm"):
        for ours, ref in NAMES.items():
            d = r.get(kind, {})
            v = d.get(ours, d.get(ref))
            if v is not None:
                out[f"{kind}.{ref}"] = v
    return out


def main():
    ref, ours = (json.load(open(p))["records"] for p in sys.argv[1:3])
    rtol = float(sys.argv[sys.argv.index("--rtol") + 1]) if "--rtol" in sys.argv else 1e-3
    every = int(sys.argv[sys.argv.index("--every") + 1]) if "--every" in sys.argv else 1
    n = min(len(ref), len(ours))
    a, b = [flat(r) for r in ref[:n]], [flat(r) for r in ours[:n]]
    keys = [k for k in a[0] if k in b[0]]
    print("first epoch of a relative difference above", rtol, "(quantity: epoch, ref, ours)")
    for k in keys:
        for e in range(n):
            x, y = a[e].get(k), b[e].get(k)
            if x is None or y is None:
                continue
            if abs(x - y) > rtol * max(abs(x), abs(y), 1e-12):
                print(f"  {k}: epoch {e}, {x:.6g} vs {y:.6g}")
                break
        else:
            print(f"  {k}: equal within {rtol} over {n} epochs")
    cols = ["loss", "train", "val", "test", "nfe_train", "steps_train.accepted",
            "steps_train.dt_first", "param_norm.mp.weight", "param_norm.mx.weight",
            "param_norm.odeblock.odefunc.alpha_train", "param_norm.odeblock.odefunc.beta_train"]
    cols = [c for c in cols if c in keys]
    print("| epoch | " + " | ".join(c.replace("param_norm.", "|") + " ref / ours" for c in cols)
          + " |")
    print("| --- " * (len(cols) + 1) + "|")
    for e in range(0, n, every):
        print(f"| {e} | " + " | ".join(f"{a[e][c]:.4g} / {b[e][c]:.4g}" for c in cols) + " |")


if __name__ == "__main__":
    main()
