"""Generate experiments/zoo/summary.json and summary.md from the runs' results JSONs.

Reads experiments/zoo/runs/<spec>_<dataset>.json (written by `pde2gnn train ... --results`, see
run.sh) and experiments/zoo/reference.json (reference-code timings and accuracies measured here,
see run_reference.sh); the published figures are the table PAPER below, each with where it was
read. A run with fewer than ten finished splits is reported with its count (`runs`). Rows of the
committed summary.json whose runs file is not on this machine (runs/ is not in git) are kept as
they are, marked "earlier run" (their command reproduces them).

Usage: python experiments/zoo/make_summary.py
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = {"texas": "Texas", "wisconsin": "Wisconsin", "cornell": "Cornell", "film": "Film",
            "chameleon": "Chameleon", "squirrel": "Squirrel", "Cora": "Cora",
            "CiteSeer": "CiteSeer", "PubMed": "PubMed"}

#: the zoo: model -> (paper, the specs that run it)
MODELS = {
    "GREAD-BS": ("Choi et al., ICML 2023", ("gread", "gread_const", "gread_const_beta1",
                                             "gread_const_vc", "gread_sc", "gread_sc_h4",
                                             "gread_rw", "gread_h4")),
    "GraphCON-GCN": ("Rusch et al., ICML 2022", ("graphcon", "graphcon_v1")),
    "G^2-GraphSAGE": ("Rusch et al., ICLR 2023", ("g2", "g2_gate_conv")),
    "ACMP": ("Wang et al., ICLR 2023", ("acmp", "acmp_ref", "acmp_grand")),
    "A-DGN": ("Gravina et al., ICLR 2023", ("adgn",)),
    "GRAND++": ("Thorpe et al., ICLR 2022", ("grand_pp", "grand_pp_nosource")),
}

#: published (mean, std, where read) per (model, dataset), std None where only the mean was read
WIZ = "https://www.wizwand.com/paper/"
PWC_GREAD = ("paperswithcode.com/paper/gread-graph-neural-reaction-diffusion (GREAD's table, "
             "geom-gcn splits, as listed there: the arXiv version's GREAD-BS mean only)")
PAPER = {
    ("GREAD-BS", "Texas"): (88.92, 3.72, "GREAD Table 3 as quoted in issue 39"),
    ("GREAD-BS", "Cornell"): (86.49, 7.15, "GREAD Table 3 as quoted in issue 39"),
    ("GREAD-BS", "Film"): (37.90, 1.17, "GREAD Table 3 as quoted in issue 39"),
    ("GREAD-BS", "Cora"): (88.39, None, PWC_GREAD),
    ("GREAD-BS", "CiteSeer"): (77.53, None, PWC_GREAD),
    ("GREAD-BS", "PubMed"): (90.21, None, PWC_GREAD),
    ("GREAD-BS", "Chameleon"): (67.98, None, PWC_GREAD),
    ("GREAD-BS", "Squirrel"): (51.01, None, PWC_GREAD),
    ("GREAD-BS", "Wisconsin"): (89.41, None, "wizwand.com listing of GREAD's results (mean "
                                "only; see the notes: the same figure as NSD's O(d)-NSD "
                                "89.41 ± 4.74)"),
    ("GraphCON-GCN", "Texas"): (85.4, None, WIZ + "68fa595a1e209131ce9b63ba (GraphCON's listed "
                                "results, mean only)"),
    ("GraphCON-GCN", "Cornell"): (84.3, None, WIZ + "68fa595a1e209131ce9b63ba (mean only)"),
    ("GraphCON-GCN", "Wisconsin"): (87.8, None, WIZ + "68fa595a1e209131ce9b63ba (mean only)"),
    ("G^2-GraphSAGE", "Texas"): (87.57, None, WIZ + "68fa6ec31e209131cea41d89 (G^2's listed "
                                 "results, mean only)"),
    ("G^2-GraphSAGE", "Wisconsin"): (87.84, None, WIZ + "68fa6ec31e209131cea41d89 (mean only)"),
    ("G^2-GraphSAGE", "Cornell"): (87.3, None, WIZ + "68fa6ec31e209131cea41d89 (mean only)"),
    ("G^2-GraphSAGE", "Chameleon"): (71.4, None, WIZ + "68fa6ec31e209131cea41d89 (mean only)"),
    ("G^2-GraphSAGE", "Squirrel"): (64.26, None, WIZ + "68fa6ec31e209131cea41d89 (mean only)"),
    ("G^2-GAT", "Film"): (37.30, 0.87, "as quoted in issue 39; G^2-GAT is not run here"),
    ("ACMP", "Texas"): (86.2, None, WIZ + "68fa5de31e209131ce9dd7bc (ACMP's listed results, "
                        "mean only)"),
    ("ACMP", "Wisconsin"): (86.1, None, WIZ + "68fa5de31e209131ce9dd7bc (mean only)"),
    ("ACMP", "Cornell"): (85.4, None, WIZ + "68fa5de31e209131ce9dd7bc (mean only)"),
    ("ACMP", "Chameleon"): (70.61, None, WIZ + "68fa5de31e209131ce9dd7bc (mean only)"),
}

#: what a run (by its results file's name) cut from its TOML's protocol (the shared 2-core
#: machine, load average 13-27), or what it changed (an ablation)
CUT = {"acmp_ref_texas": "100 epochs (acmp.toml: 200), dopri5",
       "acmp_ref_cornell": "100 epochs (acmp.toml: 200), dopri5",
       "acmp_ref_wisconsin": "100 epochs (acmp.toml: 200), dopri5",
       "grand_pp_nosource_Cora_lpc5": "ablation: the source term removed "
                                      "(specs/grand_pp_nosource.pde), random LCC splits, 5 labels "
                                      "per class, seeds 0-4",
       "gread_h4_chameleon": "the reference's four attention heads (specs/gread_h4.pde; "
                             "gread.toml [Chameleon] otherwise, decoder_mlp included; eighth "
                             "round)",
       **{f"acmp_ref_{ds}_tuned": "hyperparameters chosen on validation over splits 0-4 "
          "(run_acmp_sweep.sh: 16 configurations of beta, T, dropout and weight decay, "
          "acmp_sweep.json), then the ten splits; dopri5, 200 epochs (ninth round)"
          for ds in ("texas", "wisconsin", "cornell")},
       "acmp_ref_texas_e200": "acmp.toml's 200 epochs, dopri5 (eighth round)",
       "acmp_ref_wisconsin_e200": "acmp.toml's 200 epochs, dopri5 (eighth round)",
       "acmp_ref_cornell_e200": "acmp.toml's 200 epochs, dopri5 (eighth round)",
       "acmp_ref_texas_epochs200": "ablation: 200 epochs (the TOML's), splits 0-4, dopri5",
       "acmp_ref_texas_beta02": "ablation: beta = 0.2, 100 epochs, splits 0-4, dopri5",
       "acmp_ref_texas_beta10": "ablation: beta = 1.0, 100 epochs, splits 0-4, dopri5",
       "g2_chameleon": "100 epochs (g2.toml: 200), split 0 only",
       "grand_pp_Cora_lpc5": "random LCC splits, 5 labels per class, seeds 0-4",
       **{f"{spec}_Cora_lpc5_T{t}": f"ablation: {what}, T = {t} (grand_pp.toml: 3; rk4, step "
          "0.5), random LCC splits, 5 labels per class, seeds 0-4 (thirteenth round)"
          for spec, what in (("grand_pp", "with the source"),
                             ("grand_pp_nosource", "the source removed"))
          for t in (1, 3, 10)},
       "gread_sc_h4_wisconsin": "4 attention heads (the reference's); reference: its own "
                                "runner, best parameters, 10 splits, unseeded",
       "graphcon_film": "graphcon.toml [default] (the reference ships no Film parameters)",
       "graphcon_Cora": "graphcon.toml [default] (the reference ships no Planetoid parameters "
                        "for GraphCON-GCN)",
       "graphcon_CiteSeer": "graphcon.toml [default] (the reference ships no Planetoid "
                            "parameters for GraphCON-GCN)",
       "gread_Cora": "ablation: gread.toml [Cora] without decoder_mlp (the reference's m2_mlp; "
                     "sixth round)",
       "gread_CiteSeer": "gread.toml [CiteSeer] (gread_params.py)",
       "gread_PubMed": "ablation: gread.toml [PubMed] without encoder_mlp (the reference's "
                       "use_mlp; sixth round)",
       "gread_rw_squirrel": "specs/gread_rw.toml [Squirrel] (gread_params.py: constant "
                            "random-walk block, one alpha per channel, euler step 0.75 to "
                            "T = 5.697, m2_mlp: decoder_mlp)",
       "gread_Cora_head": "gread.toml [Cora] (gread_params.py, with m2_mlp: decoder_mlp)",
       "gread_PubMed_head": "gread.toml [PubMed] (gread_params.py, with use_mlp: encoder_mlp)",
       "gread_chameleon_head": "gread.toml [Chameleon] (gread_params.py: attention, one alpha "
                               "per channel, euler step 1.5 to T = 1.944, m2_mlp: decoder_mlp)",
       "gread_sc_film_head": "gread.toml [Film] (gread_params.py: attention, one alpha, use_mlp: "
                             "encoder_mlp; the reference's four heads not reproduced)",
       "gread_film": "ablation: one alpha per channel (gread; the reference's Film "
                     "configuration has one alpha: gread_sc), splits 0-5",
       "gread_sc_h4_film": "ablation: the reference's four attention heads "
                           "(specs/gread_sc_h4.pde), splits 0-2",
       "gread_sc_film": "ablation: gread.toml [Film] without encoder_mlp (the reference's "
                        "use_mlp; fourth round)",
       "acmp_grand_texas_select": "the reference script's configuration (argument defaults), "
                                  "time chosen on validation over 3T; reference: its "
                                  "run_GNN.py per split, seeded",
       "acmp_grand_wisconsin_select": "the reference script's configuration (argument "
                                      "defaults), time chosen on validation over 3T; "
                                      "reference: its run_GNN.py per split, seeded",
       "acmp_grand_chameleon_select": "the reference script's configuration (argument "
                                      "defaults: rk4, step 0.1, T = 12.8, beta = 0; it ships "
                                      "no chameleon parameters), time chosen on validation "
                                      "over 3T",
       "acmp_ref_chameleon": "100 epochs (acmp.toml: 200), dopri5, split 0 only",
       "gread_chameleon": "ablation: gread.toml [Chameleon] without decoder_mlp (the "
                          "reference's m2_mlp; fifth round)",
       "g2_chameleon_directed": "--directed (the raw edge list, the reference's graph), 40 "
                                "epochs (g2.toml: 200), split 0 only; reference: the same",
       "g2_chameleon_undirected": "40 epochs (g2.toml: 200), split 0 only; reference: on its "
                                  "directed graph",
       "g2_chameleon_e200": "g2.toml's 200 epochs, pde2gnn's undirected graph",
       "g2_squirrel": "g2.toml's 200 epochs, splits 0-1 (sixth round: the time left)",
       "g2_cornell_tuned": "hyperparameters chosen on validation over splits 0-4, as the "
                           "reference's author advises (run_g2_search.sh: 24 random "
                           "configurations of lr, hidden, weight decay, dropouts, p and layers, "
                           "g2_search_cornell.json), then the ten splits (tenth round)",
       "g2_chameleon_tuned": "hyperparameters chosen on validation of split 0 only (the same 24 "
                             "random configurations, run_g2_search.sh, g2_search_chameleon.json), "
                             "then the ten splits (tenth round); reference: the same "
                             "configuration on its directed graph, splits 0-1 (ours there: "
                             "66.45; the reference on the undirected graph: 67.11; twelfth "
                             "round)",
       "g2_chameleon_tuned_wide": "hyperparameters chosen on validation of splits 0-1 by a "
                                  "second search past the first one's grid edges "
                                  "(run_g2_search.sh GRID=wide: its first 8 draws, the first "
                                  "search's choice among them, g2_search_chameleon_wide.json), "
                                  "then the ten splits (twelfth round)",
       "g2_gate_conv_chameleon_tuned_wide": "the gate from its own GraphSAGE layer "
                                            "(specs/g2_gate_conv.pde; the reference's "
                                            "use_G2_conv, chosen on validation over the ten "
                                            "splits: 68.67 against 68.11), the configuration "
                                            "the wide search chose; splits 0-4 and 5-9 as two "
                                            "processes joined by pde2gnn merge (twelfth round)",
       "g2_gate_conv_chameleon_tuned_local": "the gate from its own GraphSAGE layer, its own "
                                             "search: one value at a time around the wide "
                                             "search's choice (run_g2_search.sh GRID=local, 15 "
                                             "draws on splits 0-1, "
                                             "g2_search_chameleon_local.json; chosen: dropout "
                                             "0.1, specs/g2_gate_conv.toml [chameleon]), then "
                                             "the ten splits (validation 69.37 against "
                                             "68.67 for tuned_wide); splits 0-5 and 6-9 as "
                                             "two processes joined by pde2gnn merge "
                                             "(thirteenth round)",
       "g2_gate_conv_chameleon_tuned_local_e500": "tuned_local at 500 epochs, the "
                                                  "reference runner's --epochs (its loop stops "
                                                  "at epoch --patience = 200 whatever the "
                                                  "validation does); patience 200 in its "
                                                  "documented sense selects the same epochs "
                                                  "(thirteenth round); chosen on validation over "
                                                  "the ten splits, 71.51 against 69.37",
       "g2_squirrel_from_chameleon": "the configuration chameleon's search chose "
                                     "(run_g2_search.sh squirrel ten chameleon, tenth round), "
                                     "which squirrel's own search (12 draws on split 0, "
                                     "g2_search_squirrel.json; eleventh round) chose too; "
                                     "reference: the same configuration on its directed "
                                     "graph, split 0 (ours there: 48.90; twelfth round)",
       "g2_squirrel_directed": "ablation: --directed (the raw edge list, the reference's "
                               "graph; pde2gnn's gate averages over the edges a node "
                               "receives, the reference's over those it sends), the chosen "
                               "configuration, split 0 only (undirected: 48.90)",
       "g2_gate_conv_chameleon": "ablation: the gate from its own GraphSAGE layer "
                                 "(specs/g2_gate_conv.pde: the reference's use_G2_conv = True, "
                                 "its G2_GNN class's default), the first search's chameleon "
                                 "configuration (eleventh round)",
       "g2_gate_conv_squirrel": "ablation: the gate from its own GraphSAGE layer "
                                "(specs/g2_gate_conv.pde), g2.toml [squirrel] otherwise (splits "
                                "0-4 eleventh round, 5-9 twelfth, joined by pde2gnn merge)",
       "g2_chameleon_tuned_e500": "ablation: the chosen configuration at 500 epochs (the "
                                  "reference's --epochs default; its --patience 200 stops it "
                                  "at 200), splits 0-4"}

#: the row of each (model, data set) that counts for the bar (the others are ablations or the
#: earlier, superseded configuration)
MAIN = {("GREAD-BS", "Texas"): "gread_const", ("GREAD-BS", "Cornell"): "gread",
        ("GREAD-BS", "Wisconsin"): "gread_sc_h4", ("GREAD-BS", "Film"): "gread_sc (head)",
        ("GREAD-BS", "Chameleon"): "gread_h4", ("GREAD-BS", "Cora"): "gread (head)",
        ("GREAD-BS", "PubMed"): "gread (head)", ("GREAD-BS", "Squirrel"): "gread_rw",
        ("GraphCON-GCN", "Texas"): "graphcon",
        ("GraphCON-GCN", "Cornell"): "graphcon_v1", ("GraphCON-GCN", "Wisconsin"): "graphcon",
        ("ACMP", "Texas"): "acmp_ref (tuned)", ("ACMP", "Cornell"): "acmp_ref (tuned)",
        ("ACMP", "Wisconsin"): "acmp_ref (tuned)",
        ("ACMP", "Chameleon"): "acmp_grand (select)",
        ("G^2-GraphSAGE", "Chameleon"): "g2_gate_conv (tuned_local_e500)",
        ("G^2-GraphSAGE", "Cornell"): "g2 (tuned)", ("G^2-GraphSAGE", "Squirrel"): "g2_gate_conv"}


NOTES = (Path(__file__).resolve().parent / "NOTES.md").read_text().strip() \
    if (Path(__file__).resolve().parent / "NOTES.md").is_file() else ""


def model_of(spec: str) -> str:
    for name, (_, specs) in MODELS.items():
        if spec in specs:
            return name
    raise KeyError(spec)


def within(ours: dict, paper: dict | None) -> str:
    """Against one published std: 'yes' / 'yes (above)' / 'no'; where only the mean was read,
    against our own std instead, marked '(our std)'; '' without a published figure."""
    if paper is None:
        return ""
    if ours["mean"] >= paper["mean"]:
        return "yes (above)"
    std, mark = (paper["std"], "") if paper["std"] is not None else (ours["std"], " (our std)")
    return ("yes" if ours["mean"] >= paper["mean"] - std else "no") + mark


def main_row(r: dict) -> bool:
    """Whether row ``r`` counts for its model's bar (:data:`MAIN`, else its only spec)."""
    return MAIN.get((r["zoo_model"], r["dataset"]), r["model"]) == r["model"]


def bar(rows: list) -> dict:
    """Per model: (cells within one std or above, cells with a published figure) over its
    main rows."""
    out = {}
    for r in rows:
        if r["paper"] is None or not main_row(r):
            continue
        ok, n = out.get(r["zoo_model"], (0, 0))
        out[r["zoo_model"]] = (ok + within(r["ours"], r["paper"]).startswith("yes"), n + 1)
    return out


def paper_of(model: str, ds: str):
    p = PAPER.get((model, ds))
    return None if p is None else {"mean": p[0], "std": p[1]}, None if p is None else p[2]


def rows() -> list:
    ref = json.loads((HERE / "reference.json").read_text()) if (HERE / "reference.json").is_file() \
        else {}
    out = []
    for path in sorted((HERE / "runs").glob("*.json")):
        if path.name.startswith("reference_"):   # a reference code's records (reference_log.py)
            continue
        r = json.loads(path.read_text())
        spec, ds = Path(r["spec"]).stem, DATASETS.get(r["dataset"], r["dataset"])
        model = model_of(spec)
        tag = path.stem[len(f"{spec}_{r['dataset']}"):].lstrip("_")   # an ablation's name
        acc = [100 * a for a in r["test_acc"]]
        mean = sum(acc) / len(acc)
        std = (sum((a - mean) ** 2 for a in acc) / len(acc)) ** 0.5
        p, source = paper_of(model, ds)
        rf = ref.get(path.stem)       # the reference run with the same configuration, if any
        if rf is None and not any(t in tag for t in ("tuned", "from_")):
            rf = ref.get(f"{spec}_{r['dataset']}")   # else the reference at its defaults
        command = r["command"].replace(f" --results {path.relative_to(HERE.parent.parent)}", "")
        out.append({
            "model": spec + (f" ({tag})" if tag else ""), "dataset": ds,
            "split": r.get("split") or "geom-gcn",
            "runs": len(acc), "ours": {"mean": round(mean, 2), "std": round(std, 2)},
            "paper": p,
            "reference": None if rf is None or rf.get("mean") is None else
            {"mean": rf["mean"], "std": rf["std"]},
            # training step + evaluation pass, as the reference's wall time per epoch
            "s_per_epoch": round(r.get("epoch_time_total_s") or r["epoch_time_s"], 4),
            "reference_s_per_epoch": None if rf is None else rf["s_per_epoch"],
            "command": command,
            "zoo_model": model, "paper_source": source,
            "note": CUT.get(path.stem),
        })
    return kept(out)


def kept(found: list) -> list:
    """``found`` plus the committed summary.json's rows that no runs file here produced
    (marked in ``kept``; the paper column refreshed from :data:`PAPER`), sorted."""
    have = {(r["model"], r["dataset"]) for r in found}
    old = json.loads((HERE / "summary.json").read_text())["rows"] \
        if (HERE / "summary.json").is_file() else []
    ref = json.loads((HERE / "reference.json").read_text()) if (HERE / "reference.json").is_file() \
        else {}
    for r in old:
        if (r["model"], r["dataset"]) not in have:
            r["paper"], r["paper_source"] = paper_of(r["zoo_model"], r["dataset"])
            key = f"{r['model']}_{next((k for k, v in DATASETS.items() if v == r['dataset']), '')}"
            if key in ref:        # a reference run measured since (run_reference.sh)
                r["reference"] = {"mean": ref[key]["mean"], "std": ref[key]["std"]}
                r["reference_s_per_epoch"] = ref[key]["s_per_epoch"]
            r["kept"], r["note"] = True, r.get("note") or "earlier run"
            found.append(r)
    return sorted(found, key=lambda r: (r["zoo_model"], r["dataset"], r["model"]))


def markdown(summary: dict) -> str:
    lines = [f"# {summary['title']}", "",
             "Test accuracy %, mean ± std over the geom-gcn splits (`runs`), the test accuracy "
             "at each run's selected epoch. s/epoch is the mean wall time of one epoch (training "
             "step and evaluation pass) on the shared 2-core CPU, one thread, nice 10, under the "
             "load of other engineers' jobs (load average 7-26 over the rows' runs), so it "
             "varies several-fold between rows run at different times; ratios against the "
             "reference code are measured in one process by benchmarks/zoo_graphcon.py (see the "
             "notes). `within 1 std`: against the published std, or, where only the published "
             "mean was read, against our own std (marked). Generated (with summary.json, "
             "summary.md and study.toml) by `python experiments/zoo/make_summary.py` from the "
             "runs of `experiments/zoo/run.sh`; rows marked \"earlier run\" are kept from the "
             "previous summary (their runs files are not on this machine).", "",
             "| model | spec | data set | runs | ours | paper | within 1 std | reference here "
             "| s/epoch | reference s/epoch | note |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in summary["rows"]:
        def fmt(v):
            if v is None:
                return "–"
            return f"{v['mean']:.2f}" + ("" if v["std"] is None else f" ± {v['std']:.2f}")
        ratio = r["reference_s_per_epoch"]
        lines.append(f"| {r['zoo_model']} | `{r['model']}` | {r['dataset']} | {r['runs']} | "
                     f"{fmt(r['ours'])} | {fmt(r['paper'])} | {within(r['ours'], r['paper'])} | "
                     f"{fmt(r['reference'])} | {r['s_per_epoch']:.3f} | "
                     f"{'–' if ratio is None else f'{ratio:.3f}'} | {r.get('note') or ''} |")
    lines += step_table()
    lines += ["", "The bar (issue 39): per model, of the published cells run here (its main row "
              "per data set: " + ", ".join(f"{m} {d} `{v}`" for (m, d), v in MAIN.items())
              + "; one spec otherwise), those within one std or above:", ""]
    ran = {(r["zoo_model"], r["dataset"]) for r in summary["rows"] if main_row(r)}
    for m, (ok, n) in bar(summary["rows"]).items():
        unrun = [ds for (pm, ds) in PAPER if pm == m and (pm, ds) not in ran]
        lines.append(f"- {m}: {ok} of {n}" + (f" (published, not run: {', '.join(unrun)})"
                                              if unrun else ""))
    lines += ["", "Published figures and where they were read:", ""]
    for (m, ds), (mean, std, src) in PAPER.items():
        lines.append(f"- {m}, {ds}: {mean}" + ("" if std is None else f" ± {std}") + f" ({src})")
    ref = json.loads((HERE / "reference.json").read_text()) if (HERE / "reference.json").is_file() \
        else {}
    lines += ["", "Reference codes run here (experiments/zoo/reference.json; a key with a probe "
              "suffix is an ablation of the reference, see run_reference.sh):", ""]
    for key, v in ref.items():
        lines.append(f"- `{key}`: {v['mean']:.2f} ± {v['std']:.2f} over "
                     f"{v.get('runs', 10)} splits, {v['s_per_epoch']:.3f} s/epoch "
                     f"(`{v['command']}`)")
    lines += ["", NOTES, "", "Commands:", ""] + [f"- `{r['command']}`" for r in summary["rows"]]
    return "\n".join(lines) + "\n"


def step_table() -> list:
    """Lines of the table of training-step times against the reference codes, from
    step_times/*.json (experiments/zoo/run_step_times.sh): per model, data set and graph the
    medians over the runs and every run's ratio."""
    runs: dict = {}
    for f in sorted((HERE / "step_times").glob("*.json")):
        r = json.loads(f.read_text())
        runs.setdefault((r["model"], r["dataset"], r["graph"]), []).append(r)
    if not runs:
        return []
    lines = ["", "Time of one training step against the reference code, both in one process, "
             "interleaved, one thread, CPU time (`bash experiments/zoo/run_step_times.sh`; the "
             "model, data and optimiser each code's own runner builds, the same "
             "hyperparameters; see each benchmark's docstring). Ratio: reference / pde2gnn, one "
             "per run. Epoch: the training step followed by the evaluation each runner's loop "
             "runs (the reference's early-stopping test integrator: the accuracies after "
             "every step of the solve to T, the best validation kept; ours `--select-time 1`'s "
             "evaluation: the accuracies at 32 times up to T), where the benchmark times it.",
             "",
             "| model | data set | graph | runs | pde2gnn s/step | reference s/step | ratios "
             "| pde2gnn s/epoch | reference s/epoch | epoch ratios | date | command |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (model, ds, graph), rs in runs.items():
        med = lambda key: f"{statistics.median(r[key] for r in rs):.4f}"   # noqa: E731
        ratios = ", ".join(f"{r['ratio']:.2f}" for r in rs)
        epoch = ["–"] * 3
        if all("epoch_ratio" in r for r in rs):
            epoch = [med("pde2gnn_epoch_s"), med("reference_epoch_s"),
                     ", ".join(f"{r['epoch_ratio']:.2f}" for r in rs)]
        lines.append(f"| {model} | {ds} | {graph or '–'} | {len(rs)} | {med('pde2gnn_s')} | "
                     f"{med('reference_s')} | {ratios} | {' | '.join(epoch)} | "
                     f"{rs[-1]['date']} | `{rs[-1]['command']}` |")
    return lines


def study_toml(summary: dict) -> str:
    """The study's ``study.toml`` (title, paper, one ``[[rows]]`` per row), generated here
    because this study's rows come from its runs folder, not from a hand-written list."""
    lines = [f"# generated by experiments/zoo/make_summary.py from runs/*.json",
             f"title = {json.dumps(summary['title'])}", f"paper = {json.dumps(summary['paper'])}"]
    for r in summary["rows"]:
        lines += ["", "[[rows]]", f"model = {json.dumps(r['model'])}",
                  f"dataset = {json.dumps(r['dataset'])}", f"split = {json.dumps(r['split'])}"]
        if r["paper"] is not None:
            std = r["paper"]["std"]      # a mean published without its std: the mean alone
            lines.append(f"paper = [{r['paper']['mean']}" + ("" if std is None else f", {std}")
                         + "]")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Write summary.json, summary.md (the shared rendering, experiments/summarize.py) and
    report.md (this study's table with the paper sources, the notes and the commands)."""
    found = rows()
    if not found:
        raise SystemExit("no finished runs under experiments/zoo/runs: run experiments/zoo/run.sh "
                         "first (the summaries are left as they are)")
    summary = {"study": "zoo", "title": "The PDE-GNN zoo on the geom-gcn splits (WebKB, Film, "
               "Wikipedia, Planetoid)",
               "paper": "; ".join(f"{m}: {p}" for m, (p, _) in MODELS.items()),
               "rows": found}
    sys.path.insert(0, str(HERE.parent))
    from summarize import render_md
    (HERE / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (HERE / "study.toml").write_text(study_toml(summary))
    (HERE / "summary.md").write_text(render_md(summary))
    (HERE / "report.md").write_text(markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
