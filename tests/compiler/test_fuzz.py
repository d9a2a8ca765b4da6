"""Fuzzing the whole pipeline with hypothesis (issue 15).

Property (tests/helpers/fuzzing.py): parse -> check -> to_stencil -> explain(python) -> compile -> one
evaluation + backward either succeeds or raises a Pde2GnnError whose message names
file:line:col (option / data errors: the option or input), within a time limit per case.

Five strategies (issues 15 and 34): specs built from the grammar (every declaration kind,
every built-in of ``lang/builtins.py`` with its arity and keywords, stalk fields ``node[d, k]``
and restrictions, ``coords``, edge inputs, ``dropout``, ``max_j`` / ``max_ij``, ``heads``,
``state`` / ``next``, nets and their calls; numbers such as 0, negatives and 1e400; Python
keywords as names), on the harness's ring or a random graph (empty, one node, isolated nodes,
self-loops, repeated edges, directed); ``model c extends <library spec>`` children with
overrides and the usual mistakes; token mutations of every library spec; dimension / param
values passed to library specs through the API; and PDEConv on batches of 1-3 random graphs
of different sizes (property: finite, and equal to separate solves).

Profiles: ``ci`` (default; fixed seed, 150 cases per strategy) and ``slow``
(``PDE2GNN_FUZZ=slow``, ``PDE2GNN_FUZZ_EXAMPLES`` cases per strategy, default 3500, seed
``PDE2GNN_FUZZ_SEED``). A failure prints the seed and the spec text.
"""
import os
import re

import pytest
import torch
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

from pde2gnn.errors import DataError, SolverError
from pde2gnn.compiler.lang.builtins import BUILTINS
from pde2gnn.resources import library_dir

from tests.helpers.fuzzing import (CaseTimeout, check_outcome, random_graph, run_pdeconv, run_pipeline,
                      time_limit)

SLOW = os.environ.get("PDE2GNN_FUZZ") == "slow"
SEED = int(os.environ.get("PDE2GNN_FUZZ_SEED", "2026"))
LIMIT_S = float(os.environ.get("PDE2GNN_FUZZ_LIMIT_S", "10"))
settings.register_profile("ci", max_examples=150, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck), print_blob=True)
settings.register_profile("slow", max_examples=int(os.environ.get("PDE2GNN_FUZZ_EXAMPLES",
                                                                  "3500")),
                          deadline=None, database=None, suppress_health_check=list(HealthCheck),
                          print_blob=True)
PROFILE = "slow" if SLOW else "ci"
LIBRARY = {p.stem: p.read_text() for p in sorted(library_dir().glob("*.pde"))}


@pytest.fixture(autouse=True, scope="module")
def _warm_up():
    """One case of each path outside the time limit: the first compile of a domain spec or a
    child spec pays for imports (scipy's geometry, the grammar), not for the case."""
    run_pipeline("model c extends allen_cahn\n")
    run_pdeconv("heat", {"d": 2}, [(torch.zeros(2, 0, dtype=torch.long), 2)])


def _check(text, dims=None, params=None, graph=None):
    options = set(dims or ()) | set(params or ())
    try:
        with time_limit(LIMIT_S):
            err = run_pipeline(text, dims, params, graph=graph)
    except CaseTimeout:
        raise AssertionError(f"seed {SEED}: case ran past {LIMIT_S} s:\n{text}") from None
    except Exception as e:  # noqa: BLE001 - the property: nothing else may escape
        raise AssertionError(f"seed {SEED}: {type(e).__name__}: {e}\n--- spec ---\n{text}\n"
                             f"dims={dims} params={params}") from e
    event("outcome: " + ("compiled and evaluated" if err is None else type(err).__name__))
    try:
        check_outcome(err, options)
    except AssertionError as e:
        raise AssertionError(f"seed {SEED}: {e}\n--- spec ---\n{text}") from None


# ------------------------------------------------------------------ grammar-driven specs
KEYWORD_NAMES = ["lambda", "None", "class", "async", "def", "y", "import", "True", "sum"]
NAMES = ["x", "u", "w", "a", "b", "k", "W", "h", "e", "pos"] + KEYWORD_NAMES
NUMBERS = ["0", "1", "2", "0.5", "1e-3", "3.0", "-1", "0.0"] * 3 + ["1e400", "1e308",
                                                                     "123456789"]
#: every built-in of the language, from its table: (name, arity, keyword argument or "")
KEYWORD_ARGS = {"dot": ["heads=2", "heads=3", "heads=0"],
                "restriction": ["kind=diag", "kind=general", "kind=orthogonal",
                                "kind=identity", "kind=nosuch"]}
CALLS = [(b.name, b.nargs, kw) for b in BUILTINS.values()
         for kw in [""] + KEYWORD_ARGS.get(b.name, [])]


def _call(t) -> str:
    """``name(a[, b][, keyword])`` from ((name, arity, keyword), a, b)."""
    (name, nargs, keyword), a, b = t
    return f"{name}({', '.join([a, b][:nargs] + ([keyword] if keyword else []))})"


def _exprs(names):
    leaves = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(names),
                       st.sampled_from([n + s for n in names for s in ("_i", "_j")]),
                       st.just("pi"), st.just("abar_ij"), st.just("t"))

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "^", "@"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(CALLS), inner, inner).map(_call),
            st.tuples(st.sampled_from(names), inner, inner, st.booleans()).map(   # net calls
                lambda t: f"{t[0]}({t[1]}, {t[2]})" if t[3] else f"{t[0]}({t[1]})"),
            st.tuples(inner, st.sampled_from(["0.5", "0", "1", "p"])).map(
                lambda t: f"dropout({t[0]}, {t[1]})"),
            st.tuples(inner, st.integers(0, 3)).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(inner, st.integers(0, 2), st.integers(1, 4)).map(
                lambda t: f"{t[0]}[{t[1]}:{t[2]}]"),
            inner.map(lambda e: f"-{e}"),
            st.tuples(st.sampled_from(["sheaf_lap", "sheaf_nlap", "sheaf_grad", "sheaf_div"]),
                      st.sampled_from(names), inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"))
    return st.recursive(leaves, extend, max_leaves=12)


@st.composite
def grammar_specs(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    expr = _exprs(names)
    chans = st.sampled_from(["", "[d]", "[2]", "[1]", "[4]", "[0]", "[k]", "[d, k]", "[2, 3]",
                             "[d, 0]"])
    lines = [f"model {draw(st.sampled_from(['m', 'lambda', 'heat']))}"]
    decl = st.one_of(
        st.sampled_from(names).map(lambda n: f"field {n} : node{draw(chans)}"),
        st.sampled_from(names).map(lambda n: f"input {n} : node{draw(chans)}"),
        st.sampled_from(names).map(lambda n: f"state {n} : node{draw(chans)}"),
        st.tuples(st.sampled_from(names), st.sampled_from(["1", "2", "3", "4", "0", "d"])).map(
            lambda t: f"field {t[0]} : coords[{t[1]}]"),
        st.tuples(st.sampled_from(names), st.sampled_from(["", "[1]", "[d]", "[2]"])).map(
            lambda t: f"input {t[0]} : edge{t[1]}"),
        st.tuples(st.sampled_from(names), st.sampled_from(names), st.sampled_from(
            ["diag", "general", "orthogonal", "identity"])).map(
            lambda t: f"edge {t[0]} = restriction({t[1]}_i, {t[1]}_j, kind={t[2]})"),
        st.sampled_from(["param p = 0.5", "param p = 1", "param p = -0.1"]),
        st.tuples(st.sampled_from(names + ["d", "k"]), st.sampled_from(["0", "1", "2", "3",
                                                                        "99999999999"])).map(
            lambda t: f"dim {t[0]} = {t[1]}"),
        st.tuples(st.sampled_from(names), expr).map(lambda t: f"param {t[0]} = {t[1]}"),
        st.tuples(st.sampled_from(names),
                  st.sampled_from(["", " : [d, d]", " : [2, 2] sym", " : [d, k] diag",
                                   " : [d] positive", " : [d, d] psd", " : [2, 2] diag_dom",
                                   " : scalar"]),
                  st.sampled_from(["", " = 0", " = 1e308", " = -1", " = 1e400"])).map(
            lambda t: f"learn {t[0]}{t[1]}{t[2]}"),
        st.tuples(st.sampled_from(["let", "edge", "energy"]), st.sampled_from(names),
                  expr).map(lambda t: f"{t[0]} {t[1]} = {t[2]}"),
        st.tuples(st.sampled_from(names), st.sampled_from(
            ["mlp(in=1, out=1)", "mlp(in=d, out=d, hidden=3, layers=3)", "gru(in=1, hidden=2)",
             "edge_gn(in=1, out=2, edge_in=2, hidden=4, blocks=1)", "mlp(in=1, out=1, "
             "hidden=99999999999)", "mlp(1, 2)", "gru(in=0, hidden=2)"])).map(
            lambda t: f"net {t[0]} : {t[1]}"),
        st.sampled_from(["domain pos : [0, 1] x [0, 1]", "domain pos : [0, 0] x [0, 1]",
                         "domain pos : [0, 2*pi] x [0, 2*pi] periodic",
                         "domain pos : [1, 0] x [0, 1] scheme=lsq",
                         "domain pos : [0, 1e400] x [0, 1]", "domain pos : [0, 1]"]),
        st.sampled_from(["graph knn(u, k=4)", "graph input()"]))
    op = draw(st.sampled_from(["dt"] * 3 + ["next"]))
    targets = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    # most names are declared, with d channels, so that many specs get past the checker
    for n in names:
        if not draw(st.integers(0, 5)):
            continue
        if n in targets:
            lines.append(f"field {n} : " + draw(st.sampled_from(
                ["node[d]"] * 4 + ["node", "node[2]", "node[d, k]", "coords[2]"])))
        else:
            lines.append(draw(st.sampled_from([f"input {n} : node[d]", f"param {n} = 2",
                                               f"learn {n} = 0.5", f"learn {n} : [d, d]",
                                               f"input {n} : node"])))
    lines += draw(st.lists(decl, max_size=4))
    for n in targets:
        lines.append(f"{op}({n}) = {draw(expr)}")
    order = draw(st.permutations(range(1, len(lines))))
    return "\n".join([lines[0]] + [lines[k] for k in order]) + "\n"


@st.composite
def graphs(draw):
    """None (the harness's ring), or a random graph: empty, one node, isolated nodes,
    self-loops, repeated edges, directed or symmetric."""
    if draw(st.booleans()):
        return None
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2 ** 31)))
    n = draw(st.sampled_from([1, 1, 2, 3, 5]))
    return random_graph(gen, n, draw(st.integers(0, 8)), draw(st.booleans()),
                        draw(st.booleans()), draw(st.booleans()))


@seed(SEED)
@settings(settings.get_profile(PROFILE))
@given(grammar_specs(), graphs())
@pytest.mark.slow
def test_fuzz_grammar_specs(text, graph):
    _check(text, graph=graph)


# ------------------------------------------------------------------ extends / override
STATEMENT = re.compile(r"^(field|input|state|dim|param|learn|let|edge|energy|net|dt|next)\b")


@st.composite
def child_specs(draw):
    """``model c extends <library spec>`` with overrides of the parent's statements (their
    right-hand sides redrawn), new statements, and the mistakes a user makes: an override of
    a name the parent lacks, a redeclared name, a second model line."""
    parent = draw(st.sampled_from(sorted(LIBRARY)))
    lines = [ln.split("#")[0].rstrip() for ln in LIBRARY[parent].splitlines()]
    own = [ln for ln in lines if STATEMENT.match(ln)]
    names = sorted({w for ln in own for w in re.findall(r"[A-Za-z_]\w*", ln)
                    if not STATEMENT.match(w)} - set(BUILTINS))[:12] or ["x"]
    expr = _exprs(names)
    out = [f"model c extends {parent}"]
    for ln in draw(st.lists(st.sampled_from(own), max_size=3, unique=True)) if own else []:
        if "=" in ln and draw(st.booleans()):
            ln = ln[:ln.index("=") + 1] + " " + draw(expr)
        out.append(("override " if draw(st.integers(0, 4)) else "") + ln)
    out += draw(st.lists(st.sampled_from([
        "override let nosuch = 1", "let extra = 2", "param extra = 0.5", "model c2",
        "override model c", f"dim extra = {draw(st.integers(0, 3))}",
        "learn extra : [d, d]", "field extra : node[d]"]), max_size=2))
    return "\n".join(out) + "\n"


@seed(SEED + 3)
@settings(settings.get_profile(PROFILE))
@given(child_specs())
@pytest.mark.slow
def test_fuzz_child_specs(text):
    _check(text)


# ------------------------------------------------------------------ PDEConv inputs
def _pdeconv_specs():
    from pde2gnn.compiler.check import check
    from pde2gnn.compiler.lang.parser import parse
    out = {}
    for name, text in LIBRARY.items():
        c = check(parse(text, "fuzz.pde"))
        if not c.discrete and c.domain is None:
            out[name] = {k: 4 for k in c.dims}
    return out


PDECONV_SPECS = _pdeconv_specs()
KERNEL_SPECS = {   # one spec per graph-level kernel, small enough for many cases
    "max_ij": "model m\nfield x : node[2]\nedge a = max_ij(x_j - x_i)\ndt(x) = sum_j(a * x_j)",
    "max_j": "model m\nfield x : node[2]\ndt(x) = max_j(x_j) - x",
    "mean_j": "model m\nfield x : node[2]\ndt(x) = mean_j(x_j - x_i)",
    "softmax_j": "model m\nfield x : node[2]\nedge a = softmax_j(dot(x_i, x_j))\n"
                 "dt(x) = sum_j(a * (x_j - x_i))",
    "standardize_i": "model m\nfield x : node[2]\ndt(x) = standardize_i(x) - x",
    "abar": "model m\nfield x : node[2]\ndt(x) = sum_j(abar_ij * x_j) - x",
    "edge input": "model m\nfield x : node[2]\ninput w : edge[1]\ndt(x) = sum_j(w * x_j) - x",
}


@st.composite
def pdeconv_cases(draw):
    """A library or kernel spec and a batch of 1-3 random graphs of different sizes (empty,
    one node, isolated nodes, self-loops, repeated edges, directed or symmetric)."""
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(KERNEL_SPECS)))
        spec, dims = KERNEL_SPECS[name], {}
    else:
        name = draw(st.sampled_from(sorted(PDECONV_SPECS)))
        spec, dims = name, PDECONV_SPECS[name]
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2 ** 31)))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.sampled_from([1, 1, 2, 3, 4]))
        ei, _ = random_graph(gen, n, draw(st.integers(0, 6)), draw(st.booleans()),
                             draw(st.booleans()), draw(st.booleans()))
        parts.append((ei, n))
    return spec, dims, parts, draw(st.integers(0, 100))


@seed(SEED + 4)
@settings(settings.get_profile(PROFILE))
@given(pdeconv_cases())
@pytest.mark.slow
def test_fuzz_pdeconv_inputs(case):
    spec, dims, parts, case_seed = case
    try:
        with time_limit(LIMIT_S):
            err = run_pdeconv(spec, dims, parts, case_seed)
    except CaseTimeout:
        raise AssertionError(f"seed {SEED}: PDEConv case ran past {LIMIT_S} s: {spec} "
                             f"{parts}") from None
    except Exception as e:  # noqa: BLE001 - the property: nothing else may escape
        raise AssertionError(f"seed {SEED}: {type(e).__name__}: {e}\n--- spec ---\n{spec}\n"
                             f"dims={dims} graphs={parts} seed={case_seed}") from e
    event("outcome: " + ("solved" if err is None else type(err).__name__))
    # what a graph may be refused for: an energy or sheaf spec on a directed graph or with
    # repeated edges (DataError); 1 / r at a self-loop of an n-body spec (SolverError)
    assert err is None or isinstance(err, (DataError, SolverError)), \
        f"seed {SEED}: {type(err).__name__}: {err}\n{spec} {parts}"


# ------------------------------------------------------------------ token mutations
TOKEN = re.compile(r"\d+\.\d*(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?|\w+|#[^\n]*|\n|[^\s\w]")
VOCAB = ["(", ")", "[", "]", ",", "=", "+", "-", "*", "/", "^", "@", ":", "\n", "x", "d", "0",
         "1e400", "-", "node", "edge", "lap", "init", "var", "sum_i", "dt", "next", "let",
         "field", "lambda", "None", "_j", "1/0", "é", "\t"]


@st.composite
def mutated_library_specs(draw):
    name = draw(st.sampled_from(sorted(LIBRARY)))
    tokens = TOKEN.findall(LIBRARY[name])
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(tokens) - 1))
        how = draw(st.sampled_from(["delete", "duplicate", "replace", "swap", "insert"]))
        if how == "delete":
            del tokens[k]
        elif how == "duplicate":
            tokens.insert(k, tokens[k])
        elif how == "replace":
            tokens[k] = draw(st.sampled_from(VOCAB + tokens))
        elif how == "swap" and k + 1 < len(tokens):
            tokens[k], tokens[k + 1] = tokens[k + 1], tokens[k]
        else:
            tokens.insert(k, draw(st.sampled_from(VOCAB)))
        if not tokens:
            tokens = ["model"]
    return " ".join(tokens).replace(" \n ", "\n")


@seed(SEED + 1)
@settings(settings.get_profile(PROFILE))
@given(mutated_library_specs())
def test_fuzz_mutated_library_specs(text):
    _check(text)


# ------------------------------------------------------------------ option values
VALUES = st.one_of(st.integers(-3, 5), st.sampled_from([0, 1e400, -1e400, float("nan"), 2.5,
                                                        10 ** 12, "2", "x", None, True]))


@st.composite
def library_options(draw):
    from pde2gnn.compiler.check import check
    from pde2gnn.compiler.lang.parser import parse
    name = draw(st.sampled_from(sorted(LIBRARY)))
    checked = check(parse(LIBRARY[name], "fuzz.pde"))
    dims = {k: draw(VALUES) for k in checked.dims if draw(st.booleans())}
    params = {k: draw(VALUES) for k in checked.params if draw(st.booleans())}
    if draw(st.booleans()):
        dims["nosuchdim"] = 2
    return LIBRARY[name], dims, params


@seed(SEED + 2)
@settings(settings.get_profile(PROFILE))
@given(library_options())
def test_fuzz_library_options(case):
    text, dims, params = case
    _check(text, dims, params)


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_every_library_spec_runs_the_whole_pipeline(name):
    err = run_pipeline(LIBRARY[name])
    if name == "meshop":   # scheme=mesh needs a Delaunay graph, which the fuzz graph is not
        assert "Delaunay" in str(err)
    else:
        assert err is None


# ------------------------------------------------------------------ boundary conditions
# (issue 36) `bc` declarations on faces, walls and node masks, comparisons and where(), params
# as domain bounds, 1-D domains: valid and broken combinations through the whole pipeline
import pde2gnn.compiler.backend.module  # noqa: E402,F401  (torch_geometric imported before a time limit)

BC_WHERE = ["x = 0", "x = 1", "y = 0", "y = L", "x = 2", "z = 0", "walls", "wall", "wal", "k",
            "x = -1", "t = 0"]
BC_KIND = ["dirichlet({v})", "neumann({v})", "robin(1, 2, {v})", "robin(1, 0, {v})",
           "robin({v}, 2, 1)", "robin(1, 2 + {v}, {v})",  # a, b that vary
           "robin({v})", "dirchlet({v})", "periodic({v})", "dirichlet()", "neumann({v}, {v})"]
BC_VALUE = ["0", "1", "sin(t) * y", "x < 0.5", "where(y >= 0.5, t, 1 - t)", "u", "k", "L",
            "1e400", "exp(-t) * (x == 0)", "W", "s", "2 * s + t"]
BC_DOMAIN = ["[0, 1] x [0, 1]", "[0, L] x [0, 1]", "[0, 1]", "[0, 1] x [0, 1] periodic",
             "[0, 1] x [0, 1] scheme=lsq", "[0, 1] x [0, 1] x [0, 1]", "[L, 0] x [0, 1]"]


@st.composite
def boundary_specs(draw):
    lines = ["model fuzzbc", "field u : node[1]", "param L = " + draw(st.sampled_from(
        ["1", "2", "0", "-1"])), "input wall : node " + draw(st.sampled_from(["mask", "",
                                                                              "masks"])),
             "input k : node[1]", "learn W : scalar",
             "input s : " + draw(st.sampled_from(["node[1] series", "edge[1] series",
                                                  "node[2] series", "node[1] serie"]))]
    if draw(st.booleans()):
        lines.append("domain pos : " + draw(st.sampled_from(BC_DOMAIN)))
    for _ in range(draw(st.integers(0, 3))):
        value = draw(st.sampled_from(BC_VALUE))
        kind = draw(st.sampled_from(BC_KIND)).format(v=value)
        field = draw(st.sampled_from(["u", "u", "v", "k"]))
        lines.append(f"bc {field} : {draw(st.sampled_from(BC_WHERE))} {kind}")
    op = draw(st.sampled_from(["lap(u)", "lap(u) - u^2", "where(k > 0, lap(u), 0)",
                               "dx(u) + (x < 0.5)", "lap(u) + s", "lap(u) + sin(t) * s"]))
    lines.append(draw(st.sampled_from(["dt", "dt", "next"])) + f"(u) = {op}")
    order = draw(st.permutations(lines[1:]))
    return "\n".join([lines[0]] + list(order)) + "\n"


@seed(SEED + 3)
@settings(settings.get_profile(PROFILE))
@given(boundary_specs())
def test_fuzz_boundary_conditions(text):
    _check(text)
