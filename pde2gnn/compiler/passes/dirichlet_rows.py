"""Pass ``dirichlet_rows``: the rows of Dirichlet nodes, and the sources of fields with
boundary conditions arranged for the code generator.

For each field with conditions
(:meth:`pde2gnn.compiler.discretize.boundary.BoundaryPlan.mask_rows`):
its groups' weights are multiplied by ``1 - M`` (M = 1 on its Dirichlet nodes: zero rows in
L), and its remainder becomes ``(1 - M) rest + sum_k m^k dg_k/dt`` with the static terms as one
value, the terms that depend on t only grouped by their time factor, and only the state terms
multiplied by ``1 - M`` at each evaluation. A spec without boundary conditions is unchanged.

Invariants: the rows of nodes that are not Dirichlet nodes keep their values; a Dirichlet
node's row is dg/dt (the state there follows g when it starts at g(0)).
"""
from __future__ import annotations

from pde2gnn.compiler.discretize.program import StencilProgram


def dirichlet_rows(p: StencilProgram) -> StencilProgram:
    """The pass (see the module docstring): a new program, ``p`` unchanged."""
    q = p.copy()
    if p.bc:
        for f in p.ir.rhs:
            q.remainder[f] = p.bc.mask_rows(f, [g for g in q.groups if g.target == f],
                                            q.remainder[f], p.analyzer)
    return q.copy()
