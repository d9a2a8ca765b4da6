"""pde2gnn: a symbolic PDE-to-GNN compiler (spec text -> checked AST -> sympy IR -> stencils ->
a PyTorch vector field, integrated by Runge-Kutta solvers)."""
from __future__ import annotations

import hashlib
from importlib import metadata

try:
    __version__ = metadata.version("pde2gnn")
except metadata.PackageNotFoundError:       # a checkout on PYTHONPATH, not installed
    __version__ = "0+unknown"


def provenance(spec_text: str) -> dict:
    """What every results file records about the code and the spec: ``{"pde2gnn": version,
    "spec_sha256": hex digest of the spec's text}``, so two runs can be compared without
    reading logs."""
    return {"pde2gnn": __version__,
            "spec_sha256": hashlib.sha256(spec_text.encode("utf-8")).hexdigest()}
