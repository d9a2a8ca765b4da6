"""The declaration tables of the language: boundary conditions (``bc``), constraints and named
initial values of learnable matrices (``learn``), network types (``net``).

Pure data like :mod:`pde2gnn.compiler.lang.builtins` (which re-exports them): the checker, the
docs generator and the backend read these records instead of keeping their own lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Tuple

@dataclass(frozen=True)
class BoundaryKind:
    """A boundary condition of a ``bc`` declaration (``bc u : x = 0 dirichlet(g)``).

    Attributes:
        name: as written; args: the names of its arguments, in order.
        doc: what it prescribes (n is the outward unit normal of a face).
        on_masks: may be given on a ``node mask`` input (any graph), not only on a face.
    """

    name: str
    args: Tuple[str, ...]
    doc: str
    on_masks: bool = True


#: the boundary conditions a ``bc`` declaration may give; ``periodic`` stays a domain option
BOUNDARY_KINDS: Dict[str, BoundaryKind] = {k.name: k for k in (
    BoundaryKind("dirichlet", ("g",), "u = g on the face / at the masked nodes (their values "
                 "are eliminated from the other nodes' stencils and follow dg/dt)"),
    BoundaryKind("neumann", ("q",), "du/dn = q on a face (outward normal derivative); on a "
                 "node mask, q is a flux into each masked node, added to lap(u) there"),
    BoundaryKind("robin", ("a", "b", "g"), "a u + b du/dn = g on a face (a, b constant numbers "
                 "or params, b != 0; b = 0 is dirichlet); on a node mask, the flux "
                 "(g - a u) / b into each masked node, added to lap(u) there"),
)}


@dataclass(frozen=True)
class Constraint:
    """A constraint on a learnable matrix or vector (``learn W : [d, d] sym``).

    Attributes:
        name: as written.
        square: needs a square matrix.
        symmetric: the constrained matrix is symmetric (so ``var`` may use W = W^T).
        parametrisation: how the backend keeps it (:mod:`pde2gnn.compiler.backend.constraints`).
    """

    name: str
    square: bool
    symmetric: bool
    parametrisation: str


#: named initial values of a matrix ``learn`` (``learn W : [d, d] = eye``) -> what they give;
#: the backend calls ``torch.nn.init.<name>_`` (:func:`pde2gnn.compiler.backend.module._make_learnable`)
INITIALISERS: Dict[str, str] = {
    "eye": "the identity matrix (ones on the diagonal of a rectangular one)",
    "orthogonal": "a random (semi-)orthogonal matrix (Saxe et al. 2014)",
}

CONSTRAINTS: Dict[str, Constraint] = {c.name: c for c in (
    Constraint("sym", True, True, "W = (A + A^T) / 2"),
    Constraint("diag", True, True, "W = diag(a); alone, u @ W is computed as u * a (a channel "
               "product)"),
    Constraint("positive", False, False, "W = softplus(A), entrywise > 0"),
    Constraint("psd", True, True, "W = A A^T"),
    Constraint("antisym", True, False, "W = A - A^T, W^T = -W (A-DGN, Gravina et al. 2023: "
               "purely imaginary spectrum, a non-dissipative flow)"),
    Constraint("diag_dom", True, True, "W = W0 + diag(q * rowsum|W0| + r), W0 symmetric with "
               "zero diagonal (GRAFF-DD)"),
)}


@dataclass(frozen=True)
class NetType:
    """A learnable network type (``net msg : mlp(in=3, out=4)``): required sizes, optional
    sizes with their defaults, and the call it takes."""

    name: str
    required: Tuple[str, ...]
    optional: Dict[str, int] = field(default_factory=dict)
    call: str = ""


#: ``mlp`` and ``gru`` act row by row (node- or edge-wise); ``edge_gn`` is a graph network
NET_TYPES: Dict[str, NetType] = {t.name: t for t in (
    NetType("mlp", ("in", "out"), {"hidden": 64, "layers": 2},
            "mlp(u): u node or edge [in] -> same kind [out]"),
    NetType("gru", ("in", "hidden"), {"layers": 1},
            "gru(u, h): u [in], h [layers*hidden] -> new h [layers*hidden]"),
    NetType("edge_gn", ("in", "out"), {"edge_in": 0, "hidden": 64, "blocks": 2},
            "edge_gn(v) or edge_gn(v, e): v node [in], e edge [edge_in] -> edge [out]"),
)}
