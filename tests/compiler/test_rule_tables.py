"""The backend's two ``{IR type: rule}`` tables (backend/emit.py: code generation;
backend/reference.py: the reference interpreter) cover every class the stencil IR can hold,
and a class without a rule is a loud UnsupportedError naming the class and the missing rule."""
import pytest
import sympy as sp

from pde2gnn.compiler.backend import emit, reference
from pde2gnn.compiler.lang.builtins import BUILTINS
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic import sheaf as S
from pde2gnn.errors import UnsupportedError

TABLES = {"code generation": emit.RULES, "reference interpreter": reference.RULES}

#: IR classes that reach the backend besides the kernels of the rows
STRUCTURAL = (sp.Add, sp.Mul, sp.Pow, O.Fill, O.MatMul, O.Transpose, O.Slice, O.Cat, O.Dot,
              O.NetApply, O.GraphNetApply, O.SumI, O.SumIJ, O.AtI, O.AtJ) + S.SHEAF_CLASSES


def _backend_classes():
    rows = [O.FUNCTIONS[n] for n, b in BUILTINS.items() if b.kernel and n in O.FUNCTIONS]
    return sorted(set(rows) | set(STRUCTURAL), key=lambda c: c.__name__)


@pytest.mark.parametrize("what", TABLES)
@pytest.mark.parametrize("cls", _backend_classes(), ids=lambda c: c.__name__)
def test_every_backend_class_has_its_own_rule(what, cls):
    """Its own entry, not one inherited by accident (SoftmaxI must call softmax_i)."""
    assert cls in TABLES[what], f"no {what} rule for {cls.__name__}"


def test_kernel_rules_call_the_kernel_of_the_row():
    """The generic rule of a row calls that row's kernel, with one row per edge where the row
    says so (squareplus_i, not its base class squareplus_j's kernel)."""
    class Gen:
        def _arg(self, a, lv, rows=None):
            return f"{a}:{rows}"
    args = sp.symbols("u v w")
    checked = 0
    for n, b in BUILTINS.items():
        cls = O.FUNCTIONS.get(n)
        if not b.kernel or cls is None or cls in (O.Cat, O.SumI, O.SumIJ, O.Dropout):
            continue
        e = cls(*args[:b.nargs])
        assert isinstance(e, cls), n
        code = emit.rule_for(emit.RULES, e, "code generation")(Gen(), e, 0)
        rows = "edge" if b.edge_rows else None
        assert code.startswith(f"{b.kernel}(u:{rows}"), (n, code)
        checked += 1
    assert checked > 20


class Unruled(O.GraphOp):
    nargs = 1
    spec_name = "unruled"


class OwnNet(O.NetApply):
    """A subclass with no entry of its own: it takes NetApply's rule."""


@pytest.mark.parametrize("what", TABLES)
def test_missing_rule_is_loud_and_named(what):
    with pytest.raises(UnsupportedError, match=f"no {what} rule for Unruled"):
        emit.rule_for(TABLES[what], Unruled(sp.Symbol("u")), what)


@pytest.mark.parametrize("what", TABLES)
def test_rule_found_along_the_class_hierarchy(what):
    e = OwnNet(sp.Symbol("net"), sp.Symbol("u"))
    assert emit.rule_for(TABLES[what], e, what) is TABLES[what][O.NetApply]
