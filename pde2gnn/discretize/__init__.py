"""Continuous graph operators -> stencil IR (fused sparse linear groups + message passing)."""
from .stencil import LinearGroup, StencilProgram, discretize  # noqa: F401
