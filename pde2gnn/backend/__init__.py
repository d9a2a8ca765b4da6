"""Stencil IR -> torch: graph kernels, constrained parameters, generated vector field module."""
from .module import VectorField  # noqa: F401
from .graph_ops import GraphOps  # noqa: F401
