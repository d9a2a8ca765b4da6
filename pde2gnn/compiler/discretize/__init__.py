"""Continuous graph operators -> stencil IR (fused sparse linear groups + message passing).

``program`` holds the data types every lowering pass reads and writes; ``stencil.discretize``
runs the discretisation passes (:mod:`pde2gnn.compiler.passes`); ``boundary`` and ``geometry``
are the boundary conditions' rewrites and the stencil weights on coordinates.
"""
from pde2gnn.compiler.discretize.program import LinearGroup, StencilProgram  # noqa: F401
from pde2gnn.compiler.discretize.stencil import discretize  # noqa: F401
