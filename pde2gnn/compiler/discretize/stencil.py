"""Discretisation: bound sympy IR -> :class:`StencilProgram`, by the discretisation passes of
:mod:`pde2gnn.compiler.passes` (``stencils``, ``hoist_nested``, ``normalise``, ``fuse_linear``,
``fuse_inside``, ``dirichlet_rows``; each module says what it rewrites):

1. Graph operators are replaced by their stencils on the edge list (i receiving, j neighbour):
   ``grad(u) -> u_j - u_i``, ``div(F) -> sum_j F``, ``lap(u) -> sum_j (u_j - u_i)``,
   ``mean_j(e) -> deg_inv * sum_j e``.
2. A nested graph reduction (``lap(lap(u))``, ``grad(div(F))``) is not substituted into the
   outer stencil: the inner value becomes a node temporary ``_red<k>``, itself fused like a
   field, so the program is linear in the nesting depth.
3. Endpoint values are pushed to the leaves, linear operators (``sum_j``, ``@``) are distributed
   over sums and products are expanded, until a fixed point.
4. Every additive term is classified. A term ``c * x`` or ``sum_j(w_ij * x_j)`` (and its
   ``x_i`` and ``@ W`` variants) whose weight w has one channel is *linear in the neighbour
   values*; all such terms with the same target, source field and right matrix are fused into
   one :class:`LinearGroup` ``((A_w x) + diag * x) @ W``, where ``A_w`` is one sparse CSR matrix
   with the fused edge weights. Weights that do not depend on the state (also those built from
   ``init(x)``, as in GRAND-l) are assembled once per solve; state-dependent weights once per
   evaluation. Everything else is the *remainder*, lowered to gather / scatter message passing.
5. The node argument of a non-linear function (``relu(-X Omega + Abar X W)``,
   ``standardize_i(Abar X W)``) or the base of a power (``dx(u)^2``) is classified the same
   way: its linear terms become the groups of a node temporary ``_lin<k>``, computed by sparse
   products before the remainder.
6. With boundary conditions, the rows of Dirichlet nodes are dg/dt and the sources are
   arranged for the code generator.
"""
from __future__ import annotations

from pde2gnn.compiler import passes
from pde2gnn.compiler.discretize.program import (DEG_INV, GRAPH_SYMBOLS,  # noqa: F401
                                                 LinearGroup, StencilProgram)
from pde2gnn.compiler.symbolic.ir import IR


def discretize(ir: IR, fuse: bool = True) -> StencilProgram:
    """Lower a bound IR (see :meth:`IR.bind`) to a :class:`StencilProgram`: the discretisation
    passes of :data:`pde2gnn.compiler.passes.PASSES` in order. ``fuse=False`` skips the fusing
    passes (every term stays in the gather / scatter remainder)."""
    return passes.lower(passes.initial(ir), passes.DISCRETIZE, fuse=fuse)
