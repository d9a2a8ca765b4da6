"""The lowering as an ordered list of named passes: sympy IR -> :class:`StencilProgram` ->
the annotated program the code generator writes out.

Each pass is a function ``StencilProgram -> StencilProgram`` in a module of its own (its
docstring says what it rewrites and what it keeps invariant) that leaves its input unchanged;
:func:`lower` runs them in :data:`PASSES` order and can record the program after each, which
``pde2gnn explain SPEC --after PASS`` prints. Every pass keeps the field's values (checked
against the reference interpreter, ``tests/compiler/test_passes.py``):

1. ``stencils``        graph operators -> edge-list stencils (boundary-aware forms first)
2. ``hoist_nested``    nested reductions -> node temporaries ``_red<k>``
3. ``normalise``       endpoints to the leaves, ``sum_j`` / ``@`` distributed, products expanded
4. ``fuse_linear``     terms linear in the neighbour values -> sparse groups (fusing)
5. ``fuse_inside``     linear parts of non-linear functions' arguments -> ``_lin<k>`` (fusing)
6. ``dirichlet_rows``  rows of Dirichlet nodes; boundary sources arranged
7. ``split``           the groups of L in f = L y + N (implicit / IMEX methods)
8. ``lift_gathers``    ``f(u_i, v_i) -> f(u, v)_i``
9. ``cse``             shared subexpressions
10. ``level_hoist``    the level (static / per solve / per evaluation) of every value

Passes 1-6 are the discretisation (``explain --stage stencil`` prints their result), 7-10 the
code generator's. With ``fuse=False`` the fusing passes are skipped: every term stays in the
remainder and is evaluated by gather / scatter (for debugging and differential tests).
May import the compiler's discretize and symbolic packages; the backend imports it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from pde2gnn.compiler.discretize.boundary import BoundaryPlan
from pde2gnn.compiler.discretize.program import GRAPH_SYMBOLS, StencilProgram
from pde2gnn.compiler.passes import cse as _cse
from pde2gnn.compiler.passes import level_hoist as _level
from pde2gnn.compiler.passes.dirichlet_rows import dirichlet_rows
from pde2gnn.compiler.passes.fuse_inside import fuse_inside
from pde2gnn.compiler.passes.fuse_linear import fuse_linear
from pde2gnn.compiler.passes.hoist_nested import hoist_nested
from pde2gnn.compiler.passes.lift_gathers import lift_gathers
from pde2gnn.compiler.passes.normalise import normalise
from pde2gnn.compiler.passes.split import split
from pde2gnn.compiler.passes.stencils import stencils
from pde2gnn.compiler.symbolic.analysis import Analyzer
from pde2gnn.compiler.symbolic.ir import IR
from pde2gnn.errors import OptionError, did_you_mean


@dataclass(frozen=True)
class Pass:
    """One named pass: ``run(program) -> program``; ``fusing`` passes are skipped with
    ``fuse=False``; ``show`` prints the program after it; ``backend``: a code-generation pass
    (after ``explain --stage stencil``)."""

    name: str
    run: Callable[[StencilProgram], StencilProgram]
    fusing: bool = False
    backend: bool = False
    show: Callable[[StencilProgram], str] = str


def _show_split(p: StencilProgram) -> str:
    return str(p) + "\n# split f(t, y) = L y + N(t, y):\n" + p.split.description


PASSES: Tuple[Pass, ...] = (
    Pass("stencils", stencils),
    Pass("hoist_nested", hoist_nested),
    Pass("normalise", normalise),
    Pass("fuse_linear", fuse_linear, fusing=True),
    Pass("fuse_inside", fuse_inside, fusing=True),
    Pass("dirichlet_rows", dirichlet_rows),
    Pass("split", split, backend=True, show=_show_split),
    Pass("lift_gathers", lift_gathers, backend=True),
    Pass("cse", _cse.cse, backend=True, show=_cse.show),
    Pass("level_hoist", _level.level_hoist, backend=True, show=_level.show),
)
NAMES = tuple(p.name for p in PASSES)
DISCRETIZE = tuple(p for p in PASSES if not p.backend)
BACKEND = tuple(p for p in PASSES if p.backend)


def named(name: str) -> Pass:
    """The pass called ``name``.

    Raises:
        OptionError: an unknown name, with the closest one and the list of names.
    """
    for p in PASSES:
        if p.name == name:
            return p
    hint = did_you_mean(name, NAMES)
    raise OptionError(f"unknown pass '{name}'" + (f" ({hint})" if hint else "") +
                      f"; the passes, in order: {', '.join(NAMES)}")


def initial(ir: IR) -> StencilProgram:
    """The program before any pass: the bound IR's right-hand sides and probes as the remainder
    (graph operators not yet discretised), no groups, no temporaries."""
    an = Analyzer({**ir.symbols, **GRAPH_SYMBOLS}, ir.dims)
    bc = BoundaryPlan(ir)      # boundary conditions: discretize/boundary.py
    return StencilProgram(ir, [], dict(ir.rhs), an, dict(ir.probes), [], {}, bc=bc)


def lower(program: StencilProgram, passes=PASSES, *, fuse: bool = True,
          record: Optional[List[Tuple[str, StencilProgram]]] = None) -> StencilProgram:
    """Run ``passes`` in order on ``program`` (which is left unchanged).

    Args:
        program: e.g. :func:`initial` of a bound IR, or the result of earlier passes.
        passes: a sequence of :class:`Pass` (default: all of :data:`PASSES`).
        fuse: False skips the fusing passes (``fuse_linear``, ``fuse_inside``).
        record: a list that gets ``(name, program after the pass)`` for every pass (a skipped
            pass records the program unchanged).

    Returns:
        The program after the last pass; its ``passes`` names the passes that ran.
    """
    for p in passes:
        if fuse or not p.fusing:
            program = p.run(program)
            program.passes = program.passes + (p.name,)
        if record is not None:
            record.append((p.name, program))
    return program
