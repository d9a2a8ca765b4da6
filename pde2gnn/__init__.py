"""pde2gnn: a symbolic PDE-to-GNN compiler (spec text -> checked AST -> sympy IR -> stencils ->
a PyTorch vector field, integrated by Runge-Kutta solvers).

Layers, each a package whose ``__init__`` says what it may import, data flowing down the list:
``compiler`` (lang, types, check, symbolic, discretize, backend), ``integrate``, ``graph``,
``data``, ``models``, then ``simulate`` and ``discover``, then ``train``, then ``cli``; ``errors``,
``resources`` (and the other small modules at this level) are the shared vocabulary. The names below are
imported lazily (PEP 562), so ``import pde2gnn`` loads neither torch nor torch_geometric.
"""
from __future__ import annotations

import hashlib
import importlib
from importlib import metadata

try:
    __version__ = metadata.version("pde2gnn")
except metadata.PackageNotFoundError:       # a checkout on PYTHONPATH, not installed
    __version__ = "0+unknown"

#: public name -> the module that defines it
_PUBLIC = {
    "compile": "pde2gnn.compiler.pipeline",
    "explain": "pde2gnn.compiler.pipeline",
    "PDEConv": "pde2gnn.models.pdeconv",
    "ODEBlock": "pde2gnn.integrate.solve",
    "SolverConfig": "pde2gnn.integrate.solver_config",
    "simulate": "pde2gnn.simulate",
    "discover": "pde2gnn.discover",
}
__all__ = sorted(_PUBLIC) + ["provenance", "__version__"]


def __getattr__(name):
    """PEP 562: the public names, imported on first use. Subpackages (``pde2gnn.compiler``...)
    resolve as usual; ``pde2gnn.simulate`` / ``pde2gnn.discover`` are the subpackages, whose
    ``simulate`` / ``discover`` functions are reached as ``pde2gnn.simulate.simulate``."""
    if name in _PUBLIC:
        mod = importlib.import_module(_PUBLIC[name])
        return mod if mod.__name__ == f"pde2gnn.{name}" else getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def provenance(spec_text: str) -> dict:
    """What every results file records about the code and the spec: ``{"pde2gnn": version,
    "spec_sha256": hex digest of the spec's text}``, so two runs can be compared without
    reading logs."""
    return {"pde2gnn": __version__,
            "spec_sha256": hashlib.sha256(spec_text.encode("utf-8")).hexdigest()}
