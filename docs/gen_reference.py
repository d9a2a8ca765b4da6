"""Generates the site's language reference from the rows of ``pde2gnn/compiler/lang/builtins.py`` and
``grammar/pde.lark``, and the model-zoo page from the experiments' summaries.

Run by mkdocs (the ``gen-files`` plugin, see ``mkdocs.yml``) on every build, so the pages cannot
drift from the code. ``EXAMPLES`` holds one spec per operator, constraint, initialiser and
network type; ``tests/compiler/test_docs.py`` fails when a row of the tables has no example, and compiles
every example to generated code, so every example shown on the site is checked.

    python docs/gen_reference.py language   # print the language reference
    python docs/gen_reference.py zoo        # print the model-zoo page
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pde2gnn.compiler.lang.builtins import (BUILTINS, CONSTRAINTS, EDGE_BUILTINS,  # noqa: E402
                                            INITIALISERS, NET_TYPES, NOT_APPLICABLE, Always)

_NODE = "model example\nfield x : node[4]\n"
_ATT = "edge a = {op}(dot(x_i, x_j))\ndt(x) = sum_j(a * x_j) - x\n"
_EW = "dt(x) = lap(x) - {op}(x)\n"
_SHEAF = ("model example\nfield x : node[d, k]\ndim d = 2\ndim k = 3\nlet x0 = init(x)\n"
          "edge F = restriction(x0_i, x0_j, kind=orthogonal)\n")
_GEOM = "model example\ndomain pos : [0, 1] x [0, 1]\nfield f : node[1]\n"

#: one spec per built-in operator, constraint, initialiser, network type and edge built-in
EXAMPLES = {
    "grad": _NODE + "learn kappa = 1\ndt(x) = div(kappa * grad(x))\n",
    "div": _NODE + "edge a = sigmoid(dot(x_i, x_j))\ndt(x) = div(a * grad(x))\n",
    "lap": _NODE + "param kappa = 0.5\ndt(x) = kappa * lap(x)\n",
    "sum_j": _NODE + "dt(x) = sum_j(x_j) - x\n",
    "mean_j": _NODE + "dt(x) = mean_j(x_j) - x\n",
    "mean_i": _NODE + "dt(x) = lap(x) + mean_i(x) - x\n",
    "max_j": _NODE + "dt(x) = max_j(x_j) - x\n",
    "logsumexp_j": _NODE + "param beta = 4\ndt(x) = logsumexp_j(beta * x_j) / beta - x\n",
    "max_ij": _NODE + "edge s = dot(x_i, x_j)\nedge a = softmax_j(s - max_ij(s))\n"
                      "dt(x) = sum_j(a * x_j) - x\n",
    "softmax_j": _NODE + _ATT.format(op="softmax_j"),
    "squareplus_j": _NODE + _ATT.format(op="squareplus_j"),
    "softmax_i": _NODE + _ATT.format(op="softmax_i"),
    "squareplus_i": _NODE + _ATT.format(op="squareplus_i"),
    "dot": _NODE + "learn Q : [4, 8]\nlearn K : [4, 8]\n"
                   "edge a = mean_heads(softmax_j(dot(x_i @ Q, x_j @ K, heads=2)))\n"
                   "dt(x) = sum_j(a * x_j) - x\n",
    "norm": _NODE + "dt(x) = lap(x) - norm(x) * x\n",
    "mean_heads": _NODE + "learn Q : [4, 8]\n"
                          "edge a = mean_heads(softmax_j(dot(x_i @ Q, x_j @ Q, heads=4)))\n"
                          "dt(x) = sum_j(a * x_j) - x\n",
    "init": _NODE + "learn beta = 0\ndt(x) = lap(x) + beta * init(x)\n",
    "cat": _NODE + "net f : mlp(in=8, out=4)\ndt(x) = f(cat(x, init(x)))\n",
    "standardize_i": _NODE + "learn W : [4, 4]\ndt(x) = standardize_i(sum_j(abar_ij * x_j) @ W)\n",
    "exp": _NODE + "dt(x) = lap(x) - exp(-x * x) * x\n",
    "log": _NODE + "dt(x) = lap(x) - log(1 + x * x)\n",
    "sqrt": _NODE + "dt(x) = lap(x) - x / sqrt(1 + x * x)\n",
    "tanh": _NODE + _EW.format(op="tanh"),
    "sigmoid": _NODE + _EW.format(op="sigmoid"),
    "relu": _NODE + "dt(x) = relu(lap(x))\n",
    "lt": _GEOM + "# lt: written a < b\ndt(f) = lap(f) + (x < 0.5)\n",
    "le": _GEOM + "# le: written a <= b\ndt(f) = lap(f) + (y <= 0.25) * f\n",
    "gt": _GEOM + "# gt: written a > b\nparam c = 0.5\ndt(f) = lap(f) - (f > c) * f\n",
    "ge": _GEOM + "# ge: written a >= b\ndt(f) = lap(f) + (x >= y)\n",
    "eq": _GEOM + "# eq: written a == b\ndt(f) = lap(f) + (f == 0) * x\n",
    "where": _GEOM + "let kappa = where(x < 0.5, 1, 0.1)\ndt(f) = kappa * lap(f)\n",
    "sin": _NODE + _EW.format(op="sin"),
    "cos": _NODE + "dt(x) = lap(x) + cos(x)\n",
    "abs": _NODE + "dt(x) = lap(x) - abs(x) * x\n",
    "elu": _NODE + "dt(x) = -elu(-lap(x))\n",
    "dropout": _NODE + "param p = 0.2\ndt(x) = lap(dropout(x, p))\n",
    "detach": _NODE + "learn beta = 0\ndt(x) = lap(x) + beta * detach(init(x))\n",
    "sum_i": _NODE + "learn Omega : [4, 4] diag\nenergy E = 1/2 * sum_i(dot(x_i, x_i @ Omega))\n"
                     "dt(x) = -var(E, x)\n",
    "sum_ij": _NODE + "learn W : [4, 4] sym\n"
                      "energy E = -1/2 * sum_ij(abar_ij * dot(x_i, x_j @ W))\n"
                      "dt(x) = -var(E, x)\n",
    "var": _NODE + "energy E = 1/4 * sum_ij(dot(x_j - x_i, x_j - x_i))\ndt(x) = -var(E, x)\n",
    "restriction": _SHEAF + "dt(x) = sheaf_lap(F, x)\n",
    "sheaf_grad": _SHEAF + "dt(x) = sheaf_div(F, sheaf_grad(F, x))\n",
    "sheaf_div": _SHEAF + "dt(x) = sheaf_div(F, sheaf_grad(F, x))\n",
    "sheaf_lap": _SHEAF + "dt(x) = sheaf_lap(F, x)\n",
    "sheaf_nlap": _SHEAF + "dt(x) = sheaf_nlap(F, x)\n",
    "dx": _GEOM + "param c = 1\ndt(f) = -c * dx(f)\n",
    "dy": _GEOM + "param c = 1\ndt(f) = -c * dy(f) + 0.01 * lap(f)\n",
    "dz": "model example\ndomain pos : [0, 1] x [0, 1] x [0, 1]\nfield f : node[1]\n"
          "dt(f) = -dz(f)\n",
    "dgrad": _GEOM + "dt(f) = div(dgrad(f))\n",
    # constraints of learn matrices
    "sym": _NODE + "learn W : [4, 4] sym\ndt(x) = sum_j(abar_ij * x_j) @ W - x\n",
    "diag": _NODE + "learn W : [4, 4] diag\ndt(x) = sum_j(abar_ij * x_j) @ W - x\n",
    "positive": _NODE + "learn W : [4, 4] positive\ndt(x) = lap(x) @ W\n",
    "psd": _NODE + "learn W : [4, 4] psd\ndt(x) = lap(x) @ W\n",
    "antisym": _NODE + "learn W : [4, 4] antisym\ndt(x) = tanh(x @ W + sum_j(abar_ij * x_j))\n",
    "diag_dom": _NODE + "learn W : [4, 4] diag_dom\ndt(x) = sum_j(abar_ij * x_j) @ W - x\n",
    # initialisers
    "eye": _NODE + "learn W : [4, 4] = eye\ndt(x) = lap(x) @ W\n",
    "orthogonal": _NODE + "learn W : [4, 4] = orthogonal\ndt(x) = lap(x) @ W\n",
    # network types
    "mlp": _NODE + "net F : mlp(in=4, out=4, hidden=16)\ndt(x) = F(x) + sum_j(abar_ij * x_j) - x\n",
    "gru": "model example\nfield f : node[1]\nstate h : node[16]\nnet cell : gru(in=1, hidden=16)\n"
           "net readout : mlp(in=16, out=1)\nlet hn = cell(f, h)\nnext(h) = hn\n"
           "next(f) = f + readout(hn)\n",
    "edge_gn": "model example\ninput pos : node[2]\nfield f : node[1]\n"
               "net coef : edge_gn(in=3, edge_in=2, out=1)\nedge w = coef(cat(f, pos), pos_j - pos_i)\n"
               "next(f) = f + sum_j(w * (f_j - f_i))\n",
    # edge built-ins
    "abar_ij": _NODE + "dt(x) = sum_j(abar_ij * x_j) - x\n",
}

GROUPS = (("graph", "Graph operators", "i receives, j is the neighbour: `x_j` is the value of "
           "`x` at the other end of edge (i, j); an edge value has one row per edge."),
          ("vector", "Channel operators", "act on the channels of a value, row by row."),
          ("elementwise", "Elementwise functions", "act entry by entry."),
          ("compare", "Comparisons and the conditional", "entry by entry: a comparison is 1 "
           "where true and 0 where false, so masks and piecewise coefficients are products; "
           "see [boundary conditions](../guide/boundary-conditions.md)."),
          ("energy", "Energy operators", "only inside `energy E = ...` and `var(E, x)`."),
          ("sheaf", "Sheaf operators", "on stalk fields `node[d, k]` (d-dimensional stalks, k "
           "channels)."),
          ("geometry", "Geometric stencils", "need a `domain` declaration (node coordinates); "
           "the stencil weights come from the point geometry."))


def _cell(text) -> str:
    return "" if text is None else str(text).replace("|", "\\|")


def _example(name: str) -> str:
    return f'??? example "`{name}`"\n    ```\n' + "".join(
        f"    {line}\n" for line in EXAMPLES[name].rstrip("\n").split("\n")) + "    ```\n"


def _grammar_statements() -> str:
    """The statement rules of the grammar (continuation lines joined) with the comment lines
    written above them."""
    import html
    lines = (ROOT / "grammar" / "pde.lark").read_text().split("\n")
    rules, comment = [], []
    for line in lines:
        if line.startswith("//"):
            comment.append(line[2:].strip())
            continue
        m = re.match(r"^(\w+_decl|equation|next_equation|override|model_decl):\s*(.*)", line)
        if m:
            rules.append([m[1], m[2].strip(), " ".join(comment)])
        elif rules and line[:1].isspace() and line.strip() and not rules[-1][1].endswith(";"):
            rules[-1][1] += " " + line.strip()          # a rule continued on the next line
        else:
            if rules and not line.strip():
                rules[-1][1] += ";"                     # a blank line ends the rule
        if not line[:1].isspace():
            comment = []
    rows = [f"| `{name}` | <code>{html.escape(syntax.rstrip(';')).replace('|', '&#124;')}</code> "
            f"| {_cell(note)} |" for name, syntax, note in rules]
    return "| rule | syntax (lark) | note |\n| --- | --- | --- |\n" + "\n".join(rows) + "\n"


#: the ``sign`` of a row, as the reference shows it
SIGNS = {"nonneg": "yes", "preserves": "if its arguments are", "any": "no"}


def _energy(b) -> str:
    """Whether var(...) differentiates the operator: the ``energy`` and ``derivative`` of its
    row (a plain reason refuses it only where an evolving field passes through it)."""
    if b.energy is None:
        return "yes" if b.derivative != NOT_APPLICABLE else "no (it is the derivative)"
    if isinstance(b.energy, Always):
        return f"no: {b.name} {b.energy}"
    return f"on inputs only: {b.name} {b.energy}"


def language_page() -> str:
    """The language reference page (markdown)."""
    out = ["# Language reference\n",
           "Generated from `pde2gnn/compiler/lang/builtins.py` and `grammar/pde.lark` by "
           "`docs/gen_reference.py` on every build of this site: the tables below are the "
           "compiler's own. Every example is a complete spec that `tests/compiler/test_docs.py` compiles "
           "to PyTorch code. A tour by example is the [language guide](../guide/language.md).\n",
           "## Statements\n",
           "A spec is one statement per line; `#` starts a comment. The statement rules of the "
           "grammar:\n", _grammar_statements(),
           "\nKinds: `node[C]` (one row per node, C channels), `node[d, k]` (a stalk field), "
           "`coords[n]` (point coordinates, E(n)-equivariant), edge values (one row per edge "
           "(i, j), from `x_i`, `x_j` or an edge operator) and scalars.\n"]
    for group, title, note in GROUPS:
        out.append(f"## {title}\n\n{note}\n\n"
                   "| operator | arguments | takes → gives | channels | in energies | ≥ 0 | "
                   "E(n) class | what it computes |\n"
                   "| --- | --- | --- | --- | --- | --- | --- | --- |")
        names = [n for n, b in BUILTINS.items() if b.group == group]
        for n in names:
            b = BUILTINS[n]
            args = ", ".join(["u", "v"][:b.nargs] if n != "var" else ["E", "x"])
            args += "".join(f", {k}=…" for k in b.keywords)
            kinds = f"{b.takes.value if b.takes else 'any'} → " \
                    f"{b.gives.value if b.gives else 'same'}"
            out.append(f"| `{n}` | `{n}({args})` | {kinds} | {b.channels} | "
                       f"{_cell(_energy(b))} | {SIGNS[b.sign]} | {b.equivariance} | "
                       f"{_cell(b.doc + (f' (a domain of {b.axes}+ axes)' if b.axes else ''))} |")
        out.append("")
        out.extend(_example(n) for n in names)
    out.append("## Built-in edge coefficients\n\n| name | value |\n| --- | --- |\n"
               "| `abar_ij` | 1 / sqrt(deg_i deg_j), the symmetric normalisation |\n")
    out.extend(_example(n) for n in EDGE_BUILTINS)
    out.append("## Constraints of learned matrices\n\n`learn W : [d, d] NAME` keeps W in a "
               "set through a parametrisation.\n\n"
               "| constraint | square | symmetric | parametrisation |\n| --- | --- | --- | --- |")
    for c in CONSTRAINTS.values():
        out.append(f"| `{c.name}` | {'yes' if c.square else 'no'} | "
                   f"{'yes' if c.symmetric else 'no'} | {_cell(c.parametrisation)} |")
    out.append("")
    out.extend(_example(n) for n in CONSTRAINTS)
    out.append("## Initial values of learned matrices\n\n`learn W : [d, d] = NAME`.\n\n"
               "| name | value |\n| --- | --- |")
    out.extend(f"| `{n}` | {_cell(v)} |" for n, v in INITIALISERS.items())
    out.append("")
    out.extend(_example(n) for n in INITIALISERS)
    out.append("## Networks\n\n`net NAME : TYPE(size=..., ...)` declares a learnable network; "
               "it is called like a function.\n\n"
               "| type | required sizes | optional sizes (default) | call |\n| --- | --- | --- | --- |")
    for t in NET_TYPES.values():
        opt = ", ".join(f"{k}={v}" for k, v in t.optional.items())
        out.append(f"| `{t.name}` | {', '.join(t.required)} | {opt} | {_cell(t.call)} |")
    out.append("")
    out.extend(_example(n) for n in NET_TYPES)
    out.append("## The grammar\n\n```\n" + (ROOT / "grammar" / "pde.lark").read_text().rstrip()
               + "\n```\n")
    return "\n".join(out)


def zoo_page() -> str:
    """The model-zoo page: every experiment's rows, from ``experiments/*/summary.json``."""
    sys.path.insert(0, str(ROOT / "experiments"))
    import summarize                                            # experiments/summarize.py
    lines = ["# Model zoo\n",
             "Every row below is generated from `experiments/<study>/summary.json` by "
             "`docs/gen_reference.py` (no figure typed by hand); each summary is computed from "
             "the raw results of the study's run script by `python experiments/summarize.py "
             "STUDY`. Accuracies in percent (mean ± std over the runs); other metrics named in "
             "the metric column. Times are seconds per training epoch on the machine that ran "
             "them (a shared 2-core CPU unless a study's notes say otherwise). Notes on how the "
             "figures were obtained: [notes on the results](results.md).\n",
             "## Library models\n",
             "| model | equation and paper |\n| --- | --- |"]
    for spec in sorted((ROOT / "library").glob("*.pde")):
        head = []
        for line in spec.read_text().split("\n"):
            if not line.startswith("#"):
                break
            head.append(line.lstrip("# ").rstrip())
        lines.append(f"| `{spec.stem}` | {_cell(' '.join(head))} |")
    lines.append("")
    for study in summarize.studies():
        s = summarize.load(study)
        lines.append(f"## {s['title']}\n")
        if s["paper"]:
            lines.append(f"Paper: {s['paper']}. Study folder: `experiments/{s['study']}/`.\n")
        md = summarize.render_md(s)
        lines.append(md[md.index("| model |"):])
    return "\n".join(lines)


def main() -> None:
    """Under mkdocs-gen-files: write the generated pages into the site's virtual files."""
    import mkdocs_gen_files
    with mkdocs_gen_files.open("reference/language.md", "w") as f:
        f.write(language_page())
    with mkdocs_gen_files.open("models/zoo.md", "w") as f:
        f.write(zoo_page())


if __name__ == "__main__":
    print(language_page() if sys.argv[1:] == ["language"] else zoo_page())
elif __name__ == "<run_path>":          # run by mkdocs-gen-files (runpy.run_path)
    main()
