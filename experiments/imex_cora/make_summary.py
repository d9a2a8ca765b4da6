"""experiments/imex_cora/summary.json, summary.md and costs.md from runs/ (written by run.sh).

The table rows follow the shared format (experiments/summarize.py: accuracy and s / epoch per
variant); each row also carries the solve counts of its results file (NFE of N per forward
and backward solve, products with L, linear-solver iterations, the whole epoch's time and the
peak memory), and ``grad_check`` holds runs/grad_check.json (grad_check.py) rounded. The
summary.md is the shared rendering of summary.json (``summarize.py --render``); costs.md holds
the tables of these counts and of the gradient check.

    python experiments/imex_cora/make_summary.py
"""
from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import summarize as S  # noqa: E402

EXTRA = ("nfe_forward", "nfe_backward", "nfe_linear", "linear_iterations", "epoch_time_s",
         "epoch_time_total_s", "peak_memory_mb")


def _r(x, digits=4):
    return None if x is None else float(f"{x:.{digits}g}")


def _round_tree(x):
    if isinstance(x, float):
        return _r(x, 3)
    if isinstance(x, dict):
        return {k: _round_tree(v) for k, v in x.items()}
    return x


def _present_rows():
    """(summary of the rows whose results file is here, their study.toml rows, the rows of
    the committed summary.json whose results file is not: raw runs stay out of git, so a rerun
    of some variants keeps the figures of the others)."""
    import tempfile
    conf = S.tomllib.loads((HERE / "study.toml").read_text())
    here = [c for c in conf["rows"] if (HERE / c["ours"]).exists()]
    old = json.loads((HERE / "summary.json").read_text()) if (HERE / "summary.json").exists() \
        else {"rows": []}
    absent = {c["model"] for c in conf["rows"]} - {c["model"] for c in here}
    kept = {r["model"]: r for r in old["rows"] if r["model"] in absent}
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / HERE.name       # summarize names the study by its folder
        study.mkdir()
        rows = "".join("\n[[rows]]\n" + "".join(
            f"{k} = {json.dumps(str(HERE / v) if k == 'ours' else v)}\n" for k, v in c.items())
            for c in here)
        paper = f"paper = {json.dumps(conf['paper'])}\n" if conf.get("paper") else ""
        (study / "study.toml").write_text(f"title = {json.dumps(conf['title'])}\n{paper}{rows}")
        summary = S.summarize(study)
    for r, c in zip(summary["rows"], here):      # the command names the study's runs/ path
        r["command"] = re.sub(r"--results \S+", f"--results experiments/{HERE.name}/"
                              f"{c['ours']}", r["command"])
    order = [c["model"] for c in conf["rows"]]
    return summary, here, kept, order


def build() -> dict:
    summary, here, kept, order = _present_rows()
    conf = {"rows": here}
    per_seed = {}
    for row, c in zip(summary["rows"], conf["rows"]):
        doc = json.loads((HERE / c["ours"]).read_text())
        row["solve"] = {k: _r(doc.get(k)) for k in EXTRA}
        # steps rejected because a linear solve failed (pde2gnn.integrate.step_failure), mean
        # over the epochs' forward solves (the training history records each)
        rej = [h.get("linear_rejections") for r in doc["runs"] for h in r.get("history", [])]
        rej = [x for x in rej if x is not None]
        row["solve"]["linear_rejections"] = _r(statistics.mean(rej)) if rej else None
        per_seed[row["model"]] = {r["seed"]: r["epoch_time_s"] for r in doc["runs"]}
    for row in summary["rows"]:     # same seed: same load; against dopri5 of the same spec
        times = per_seed[row["model"]]
        base = per_seed[row["model"].split("/")[0] + "/dopri5"]
        ratios = [times[s] / base[s] for s in times if s in base]
        row["solve"]["epoch_time_ratio_to_dopri5"] = {
            "per_seed": [_r(x, 3) for x in ratios], "median": _r(statistics.median(ratios), 3)}
    summary["rows"] = sorted(summary["rows"] + list(kept.values()),
                             key=lambda r: order.index(r["model"]))
    grad = HERE / "runs" / "grad_check.json"
    if grad.exists():
        summary["grad_check"] = _round_tree(json.loads(grad.read_text()))
    elif (HERE / "summary.json").exists():
        old = json.loads((HERE / "summary.json").read_text())
        if "grad_check" in old:
            summary["grad_check"] = old["grad_check"]
    S.check_schema(summary)
    return summary


def extra_md(summary: dict) -> str:
    rows = summary["rows"]
    out = ["\n## Costs per solve (training, means over epochs and seeds)\n",
           "NFE counts evaluations of the vector field for dopri5 and of the non-linear part N "
           "for the IMEX methods, whose products with L and linear-solver (CG) iterations are "
           "listed beside. s / epoch: the training step (forward, backward, optimiser), mean "
           "over seeds; the load of the shared machine varied between seeds, so the ratio to "
           "dopri5 (of the same spec) is taken per seed (the variants of one seed ran one after "
           "the other, run.sh, or side by side, run_gread.sh) and its median given, with the "
           "per-seed ratios. Rows `gread/...`: library gread, T = 600 (run_gread.sh; before "
           "this round its GMRES failure stopped the run).\n",
           "| variant | NFE forward | NFE backward | L products | CG / GMRES iterations | "
           "steps rejected by the linear solver | s / epoch "
           "| ratio to dopri5: median (per seed) | s / epoch with evaluation | peak memory MiB |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        s = r["solve"]
        rej = s.get("linear_rejections")
        out.append(f"| `{r['model']}` ({r['note']}) | {s['nfe_forward']:g} | "
                   f"{s['nfe_backward']:g} | {s['nfe_linear'] or 0:g} | "
                   f"{s['linear_iterations'] or 0:g} | {'' if rej is None else f'{rej:g}'} | "
                   f"{s['epoch_time_s']:.3g} | "
                   f"{s['epoch_time_ratio_to_dopri5']['median']:.2f} ("
                   + ", ".join(f"{x:.2f}" for x in s["epoch_time_ratio_to_dopri5"]["per_seed"])
                   + ") | "
                   f"{s['epoch_time_total_s']:.3g} | {s['peak_memory_mb']:.0f} |")
    g = summary.get("grad_check")
    if g:
        out += ["\n## Gradient check of one solve (grad_check.py)\n",
                "Small diffusion (kappa = 0.01, float64, rtol 1e-10): relative difference "
                "||g - g_dopri5|| / ||g_dopri5|| of the gradients of the encoder W, alpha and "
                "Beta.\n", "| method | W | alpha | Beta | NFE forward | NFE backward |",
                "| --- | --- | --- | --- | --- | --- |"]
        for k, v in g["small"].items():
            if k == "dopri5":
                c = v["counts"]
                out.append(f"| dopri5 (reference) | | | | {c['nfe']} | {c['nfe_backward']} |")
                continue
            d = list(v["relative_difference"].values())
            out.append(f"| {k} | {d[0]:.2g} | {d[1]:.2g} | {d[2]:.2g} | {v['counts']['nfe']} "
                       f"| {v['counts']['nfe_backward']} |")
        out += ["\nStiff setting (kappa = 8, float32, rtol 1e-3, atol 1e-4): one solve, "
                "forward + backward, medians of 3 interleaved repeats.\n",
                "| method | NFE (N) forward | L products | CG iterations | NFE backward | "
                "wall s | ratio to dopri5 | gradient difference to dopri5 (W, alpha, Beta) |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for k, v in g["large"].items():
            c, d = v["counts"], list(v["relative_difference_to_dopri5"].values())
            out.append(f"| {k} | {c['nfe']} | {c['products']} | {c['iterations']} | "
                       f"{c['nfe_backward']} | {v['wall_s']:.3g} | "
                       f"{v['wall_ratio_to_dopri5']:.2f} | "
                       + ", ".join(f"{x:.2g}" for x in d) + " |")
    ref = (g or {}).get("alpha_reference")
    if ref:
        out += ["\nStiff setting, float64: dLoss/dalpha (one scalar) by central differences of "
                "tight solves and by autograd.\n", "| how | dLoss/dalpha |", "| --- | --- |"]
        out += [f"| {k} | {v:.4g} |" for k, v in ref.items()]
    return "\n".join(out) + "\n"


def main():
    summary = build()
    (HERE / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (HERE / "summary.md").write_text(S.render_md(summary))
    (HERE / "costs.md").write_text(f"# {summary['title']}: costs and gradients\n\nGenerated "
                                   "from `summary.json` by `python experiments/imex_cora/"
                                   "make_summary.py`.\n" + extra_md(summary))
    print((HERE / "summary.md").read_text() + (HERE / "costs.md").read_text())


if __name__ == "__main__":
    main()
