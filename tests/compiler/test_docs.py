"""The generated parts of the documentation cannot drift from the code and the experiments.

- the language reference (docs/gen_reference.py) has an example for every built-in operator,
  constraint, initialiser, network type and edge built-in, and every example compiles to code;
- every experiment summary follows the shared schema, and its summary.md is the rendering of
  its summary.json; the README's results table is the rendering of the summaries;
- every library spec opens with a header comment (its equation and paper), every ablation spec
  under experiments/ compiles, and the getting-started spec checks.
"""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT / "experiments"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import gen_reference  # noqa: E402
import summarize  # noqa: E402
from helpers.specs import EXPERIMENT_SPECS, LIBRARY_SPECS  # noqa: E402

from pde2gnn.compiler import pipeline as compiler  # noqa: E402
from pde2gnn.compiler.lang.builtins import (BUILTINS, CONSTRAINTS, EDGE_BUILTINS,  # noqa: E402
                                            INITIALISERS, NET_TYPES, Always)

DOCUMENTED = (list(BUILTINS) + list(CONSTRAINTS) + list(INITIALISERS) + list(NET_TYPES)
              + list(EDGE_BUILTINS))


def test_every_builtin_has_an_example_in_the_reference():
    missing = [n for n in DOCUMENTED if n not in gen_reference.EXAMPLES]
    assert not missing, f"add an example to docs/gen_reference.py EXAMPLES for {missing}"
    assert set(gen_reference.EXAMPLES) == set(DOCUMENTED), "an example of no built-in"


@pytest.mark.parametrize("name", sorted(gen_reference.EXAMPLES))
def test_reference_example_compiles_and_uses_its_builtin(name):
    text = gen_reference.EXAMPLES[name]
    assert name in text
    code = compiler.explain(text, "python")
    assert "def step(" in code or "def update(" in code or "next" in code


def test_language_reference_lists_every_builtin_and_statement():
    page = gen_reference.language_page()
    for n in DOCUMENTED:
        assert f"`{n}`" in page, n
    for rule in ("field_decl", "learn_decl", "net_decl", "domain_decl", "equation",
                 "next_equation", "override", "model_decl", "energy_decl"):
        assert f"| `{rule}` |" in page, rule


def test_language_reference_columns_are_the_rows():
    """Each operator's line of the reference shows its row's energy rule, sign and E(n) class."""
    page = gen_reference.language_page()
    for n, b in BUILTINS.items():
        line = next(ln for ln in page.splitlines() if ln.startswith(f"| `{n}` |"))
        assert f"| {gen_reference.SIGNS[b.sign]} | {b.equivariance} |" in line, line
        energy = line.split(" | ")[4]
        assert (energy == "yes") == (b.energy is None and b.derivative != "n/a"), line
        assert energy.startswith("on inputs only") == (
            bool(b.energy) and not isinstance(b.energy, Always)), line


def test_no_hand_typed_operator_table_in_readme_or_guides():
    """Operator tables are generated from the rows (docs/gen_reference.py), never typed by hand
    in the README or a guide page, where they would drift from lang/builtins.py."""
    pages = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    for page in pages:
        rows = [ln for ln in page.read_text().splitlines()
                if ln.startswith("| `") and ln.split("`")[1] in BUILTINS]
        assert len(rows) < 3, (f"{page.relative_to(ROOT)} types a table of built-in operators "
                               f"by hand ({[r.split('`')[1] for r in rows]}); link the generated "
                               "language reference instead")


@pytest.mark.parametrize("study", summarize.studies(), ids=lambda p: p.name)
def test_summary_follows_schema_and_markdown_is_its_rendering(study):
    s = summarize.load(study)
    summarize.check_schema(s)
    assert s["study"] == study.name
    assert (study / "summary.md").read_text() == summarize.render_md(s), \
        f"run python experiments/summarize.py --render ({study.name}/summary.md is stale)"
    conf = (study / "study.toml").read_text()
    assert conf.count("[[rows]]") == len(s["rows"]), "study.toml and summary.json disagree"


def test_schema_check_rejects_a_row_without_ours():
    s = summarize.load(summarize.studies()[0])
    bad = json.loads(json.dumps(s))
    del bad["rows"][0]["ours"]
    with pytest.raises(ValueError, match="ours"):
        summarize.check_schema(bad)


def test_summarize_keeps_committed_rows_whose_runs_are_absent(tmp_path):
    """runs/ is not in git: a row whose results file is missing keeps its committed figures,
    a row with its file is recomputed, and a new row without a file is an error."""
    rows = [{"model": m, "dataset": "Texas", "split": "geom-gcn", "ours": f"runs/{m}.json"}
            for m in ("kept", "fresh")]
    toml = 'title = "t"\n' + "".join(
        "\n[[rows]]\n" + "".join(f'{k} = "{v}"\n' for k, v in r.items()) for r in rows)
    (tmp_path / "study.toml").write_text(toml)
    old = {"model": "kept", "dataset": "Texas", "split": "geom-gcn", "runs": 10,
           "ours": {"mean": 80.0, "std": 1.0}, "paper": None, "reference": None,
           "s_per_epoch": 0.1, "reference_s_per_epoch": None, "command": "c"}
    (tmp_path / "summary.json").write_text(json.dumps({"rows": [old]}))
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "fresh.json").write_text(json.dumps(
        {"test_acc": [0.5, 0.7], "epoch_time_s": 0.2, "command": "pde2gnn train x"}))
    s = summarize.summarize(tmp_path)
    assert s["rows"][0] == old
    assert s["rows"][1]["ours"] == {"mean": 60.0, "std": 10.0} and s["rows"][1]["runs"] == 2
    (tmp_path / "runs" / "fresh.json").unlink()
    (tmp_path / "summary.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(FileNotFoundError):
        summarize.summarize(tmp_path)


def test_readme_results_table_is_generated_from_the_summaries():
    text = (ROOT / "README.md").read_text()
    assert summarize.rewrite_readme(text) == text, \
        "run python experiments/summarize.py --readme README.md"


def test_zoo_page_lists_every_library_model_and_every_study():
    page = gen_reference.zoo_page()
    for spec in LIBRARY_SPECS:
        assert f"| `{spec.stem}` |" in page
    for study in summarize.studies():
        assert summarize.load(study)["title"] in page


@pytest.mark.parametrize("spec", LIBRARY_SPECS, ids=lambda p: p.stem)
def test_library_spec_opens_with_its_header(spec):
    head = spec.read_text().split("\n")[0]
    assert head.startswith("# ") and len(head) > 20, f"{spec.name}: no header comment"


@pytest.mark.parametrize("spec", EXPERIMENT_SPECS, ids=lambda p: p.stem)
def test_experiment_spec_compiles(spec):
    assert "def step(" in compiler.explain(str(spec), "python")


def test_getting_started_spec_checks():
    checked = compiler.front(str(ROOT / "examples" / "my_diffusion.pde"))
    assert checked.name == "my_diffusion"
