"""Print the side-by-side rows of experiments/reference/runs/ (reference JSON vs pde2gnn JSON).

Usage: python benchmarks/reference/summarize.py [REF.json OURS.json ...]  (pairs; default: all
pairs listed below that exist). Accuracies in %, mean ± population std over runs / seeds;
s/epoch is the training step plus the evaluation forward pass for both codes (the reference's
printed runtime covers both); NFE is per forward solve.
"""
import json
import sys
from pathlib import Path

R = Path(__file__).resolve().parents[2] / "experiments" / "reference" / "runs"
PAIRS = [
    ("ref_grand_cora_public.json", "ours_grand_ref_cora.json"),
    ("ref_grand_citeseer_public.json", "ours_grand_ref_exp_citeseer.json"),
    ("ref_grand_citeseer_public.json", "ours_grand_ref_citeseer.json"),
    # ablations of grand_ref_exp towards the reference's choices (issue 17)
    ("ref_grand_citeseer_public.json", "ours_grand_ref_exp_qk_citeseer.json"),
    ("ref_grand_citeseer_public.json", "ours_grand_ref_exp_x0_citeseer.json"),
    ("ref_grand_citeseer_public.json", "ours_grand_ref_exp_x0qk_citeseer.json"),
    ("ref_grand_citeseer_public.json", "ours_grand_ref_exp_max_citeseer.json"),
    ("ref_grand_citeseer_public.json", "ours_grand_ref_exp_all_citeseer.json"),
    ("ref_blend_cora_public.json", "ours_beltrami_refvalues_cora.json"),
    ("ref_blend_citeseer_public.json", "ours_beltrami_exp_refvalues_citeseer.json"),
    ("ref_blend_citeseer_public.json", "ours_beltrami_exp_x0_refvalues_citeseer.json"),
    # the random-split protocol (different random splits in the two codes: the reference
    # draws an unlogged seed per run)
    ("ref_blend_cora_random.json", "ours_beltrami_refvalues_cora_random.json"),
    ("ref_blend_cora_random.json", "ours_beltrami_x0_refvalues_cora_random.json"),
    ("ref_blend_cora_random.json", "ours_beltrami_x0_refvalues_cora_random_seeds0-19.json"),
    ("ref_blend_citeseer_random.json", "ours_beltrami_exp_x0_refvalues_citeseer_random.json"),
]


def row(ref_path, ours_path):
    a = json.loads(Path(ref_path).read_text())
    b = json.loads(Path(ours_path).read_text())
    fa = lambda d: f"{100 * d['test_acc_mean']:.2f} ± {100 * d['test_acc_std']:.2f} ({len(d['test_acc'])})"
    ta, tb = a["epoch_time_total_s"], b["epoch_time_total_s"]
    gap = 100 * (b["test_acc_mean"] - a["test_acc_mean"])
    return (f"{Path(ref_path).stem} vs {Path(ours_path).stem}: ref {fa(a)} | ours {fa(b)} | "
            f"diff {gap:+.2f} | s/epoch {ta:.3f} / {tb:.3f} (x{ta / tb:.1f}) | "
            f"NFE {a['nfe_forward']:.1f} / {b['nfe_forward']:.1f} | "
            f"val {100 * sum(a['val_acc']) / len(a['val_acc']):.1f} / "
            f"{100 * sum(b['val_acc']) / len(b['val_acc']):.1f} | "
            f"best epochs {a['best_epoch']} / {b['best_epoch']}")


if __name__ == "__main__":
    args = sys.argv[1:]
    pairs = list(zip(args[::2], args[1::2])) if args else [
        (R / x, R / y) for x, y in PAIRS if (R / x).is_file() and (R / y).is_file()]
    for p in pairs:
        print(row(*p))
