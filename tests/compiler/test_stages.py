"""``compiler.stages``: every pipeline stage of a spec in one record, and the IR boundary: the
backend and the simulator read the bound declarations (``ir.constants``), never the checked
AST."""
import ast
import dataclasses
import math
from pathlib import Path

import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.check import CheckedSpec, NetInfo, Type
from pde2gnn.compiler.discretize import StencilProgram
from pde2gnn.errors import OptionError
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.symbolic import IR
from pde2gnn.compiler.symbolic.constants import Box, Constants, Domain, LearnInfo

from tests.helpers.graphs import random_graph

PACKAGE = Path(__file__).resolve().parents[2] / "pde2gnn"

SPEC = """model m
param kappa = 2
domain pos : [0, 2*pi] x [-1, 1] periodic scheme=lsq
field u : node[d]
input w : edge[d]
learn a : [d] positive = kappa / 4
learn W : [d, d]
learn s = 1 + kappa
net g : mlp(in=d, out=d, hidden=8)
dt(u) = a * lap(u) + g(u) + u @ W + s * dx(u) + sum_j(w * u_j)
"""


@pytest.mark.parametrize("name", ["heat", "grand", "graff", "padgn", "meshop", "nsd_general",
                                  "convection_diffusion"])
def test_stages_holds_every_stage_and_explain_prints_them(name):
    free = {k: 4 for k, v in compiler.front(name).dims.items() if v is None}
    st = compiler.stages(name, free)
    assert isinstance(st.ast, A.Spec) and isinstance(st.checked, CheckedSpec)
    assert isinstance(st.lowered, IR) and st.lowered.constants is None   # not bound yet
    assert isinstance(st.ir, IR) and isinstance(st.ir.constants, Constants)
    assert isinstance(st.stencil, StencilProgram) and st.stencil.ir is st.ir
    assert isinstance(st.code, str) and "def step(" in st.code
    assert st.ir is st.ir and st.stencil is st.stencil           # each stage computed once
    head = f"# {st.checked.name}: {compiler.model_kind(st.checked)}\n"
    assert compiler.explain(name, "ast") == head + "\n".join(
        repr(s) for s in st.checked.spec.statements)
    assert compiler.explain(name, "ir", free or None) == head + str(
        st.ir if free else st.lowered)
    assert compiler.explain(name, "stencil") == head + str(st.stencil)
    python = compiler.explain(name, "python")
    code = head + compiler.PYTHON_HEADER + st.code    # the header explains _G, _I, _L, ...
    assert python.startswith(code)
    assert (python != code) == st.generated.affine     # + the affine step
    assert str(compiler.to_ir(name, free)) == str(st.ir)
    assert str(compiler.to_stencil(name, free)) == str(st.stencil)


def test_stages_binds_lazily_and_replace_rebinds():
    st = compiler.stages("grand")        # parsing and checking need no dimension sizes
    with pytest.raises(OptionError, match="dimension 'd' of spec 'grand' has no size"):
        st.ir
    st4 = dataclasses.replace(st, dims={"d": 4})
    assert st4.checked is st.checked and st4.ir.dims == {"d": 4, "k": 64}
    assert st4.ir.constants.learnables["W_K"].shape == (4, 64)
    assert dataclasses.replace(st, dims={"d": 2, "k": 3}).ir.constants.learnables[
        "W_Q"].shape == (2, 3)
    with pytest.raises(OptionError, match="no let / edge value 'nope'"):
        compiler.stages("grand", {"d": 4}, probes=("nope",)).ir


def test_constants_of_a_bound_spec():
    c = compiler.stages(SPEC, {"d": 3}, {"kappa": 8}).ir.constants
    assert c.domain == Domain("pos", Box((0.0, -1.0), (2 * math.pi, 1.0), True), "lsq",
                              ("x", "y"))
    assert c.learnables == {"a": LearnInfo((3,), 2.0, ("positive",)),
                            "W": LearnInfo((3, 3), None, ()),
                            "s": LearnInfo((), 9.0, ())}
    assert c.fields == {"u": Type("node", (3,))} and c.states == () and c.observed == ("u",)
    assert c.inputs == {"w": Type("edge", (3,)), "pos": Type("node", (2,)),
                        "x": Type("node", (1,)), "y": Type("node", (1,))}
    assert set(c.data_inputs) == {"w", "pos"}
    assert c.nets == {"g": NetInfo("g", "mlp", {"in": 3, "out": 3, "hidden": 8, "layers": 2})}
    assert c.sheaves == {} and not c.energies
    plain = compiler.stages("heat", {"d": 1}).ir.constants
    assert plain.domain is None and plain.learnables == {} and plain.inputs == {}
    assert compiler.stages("graff", {"d": 2}).ir.constants.energies
    sheaf = compiler.stages("nsd_general", {"d": 2, "k": 3}).ir.constants.sheaves
    assert {(s.kind, s.d, s.k) for s in sheaf.values()} == {("general", 2, 3)}


def test_compiled_module_takes_its_constants_from_the_record():
    ei, n = random_graph(8, seed=0)
    pos = torch.rand(n, 2, dtype=torch.float64) * torch.tensor([2 * math.pi, 2.0]) - \
        torch.tensor([0.0, 1.0])
    vf = compiler.compile(SPEC, ei, n, {"d": 3}, {"kappa": 8},
                          {"pos": pos, "w": torch.randn(ei.shape[1], 3)})
    learned = vf.learned()
    assert learned["s"].shape == () and learned["s"].item() == 9.0
    torch.testing.assert_close(learned["a"], torch.full((3,), 2.0))
    assert learned["W"].shape == (3, 3) and vf.scheme == "lsq"
    assert vf.inputs.x.shape == (n, 1) and vf.inputs.w.shape == (ei.shape[1], 3)


def _checked_reads(path: Path):
    """(line, what) of every read of the checked AST in a module: an attribute ``.checked``
    or ``.domain_option``, a variable ``checked``, or a use of ``lower_expr``."""
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("checked", "domain_option"):
            out.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Name) and node.id in ("checked", "lower_expr"):
            out.append((node.lineno, node.id))
        elif isinstance(node, ast.ImportFrom) and any(a.name == "lower_expr"
                                                      for a in node.names):
            out.append((node.lineno, "import lower_expr"))
    return out


@pytest.mark.parametrize("path", sorted((PACKAGE / "backend").glob("*.py")) +
                         sorted((PACKAGE / "discretize").glob("*.py")) +
                         sorted((PACKAGE / "simulate").glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_backend_and_simulate_never_read_the_checked_ast(path):
    assert _checked_reads(path) == [], f"{path} reads the checked AST; use ir.constants"
