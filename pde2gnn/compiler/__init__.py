"""The compiler: spec text -> checked AST -> sympy IR -> stencil IR -> generated PyTorch vector field.
Subpackages: lang (grammar, AST, inherit, the built-in table), types (kinds, channels, the checked
spec), check (incl. E(n) equivariance), symbolic, discretize (the stencil program), passes (the
lowering as named passes), backend (code generation, kernels, reference interpreter);
pipeline.py runs the stages. May import only itself and the shared
vocabulary at the top of pde2gnn (errors, resources, options, progress, threads), sympy, lark,
numpy, scipy and torch; never torch_geometric, never integrate, graph, data, models, train,
simulate, discover or cli.
"""

import importlib

_PIPELINE = ("load", "Stages", "stages", "front", "to_ir", "to_stencil", "is_discrete",
             "model_kind", "compile_stepper", "compile", "explain")


def __getattr__(name):
    """PEP 562: the pipeline's public functions (``from pde2gnn import compiler;
    compiler.compile(...)``), imported on first use so that the front end loads no torch."""
    if name in _PIPELINE:
        return getattr(importlib.import_module("pde2gnn.compiler.pipeline"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
