"""Continuous graph operators -> stencil IR (fused sparse linear groups + message passing)."""
from pde2gnn.compiler.discretize.stencil import (LinearGroup, StencilProgram,  # noqa: F401
                                                 discretize)
