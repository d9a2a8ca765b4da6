"""Stencil IR -> torch: graph kernels, constrained parameters, generated vector field module.

The submodules are imported where they are used (``backend.codegen`` needs no torch).
"""
