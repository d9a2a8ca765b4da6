"""Stencil IR -> torch: graph kernels, constrained parameters, generated vector field module.

The submodules are imported where they are used (``backend.codegen`` needs no torch).
"""

import importlib
import sys

# Generated code (the code goldens) imports its sheaf kernels from the package's pre-issue-37
# name: that name stays an alias of this package, resolving submodules lazily (PEP 562).
sys.modules.setdefault("pde2gnn.backend", sys.modules[__name__])


def __getattr__(name):
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
