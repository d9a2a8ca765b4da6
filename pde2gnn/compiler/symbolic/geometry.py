"""Geometric operators of specs with a ``domain``: sympy classes and their edge stencils.

Under ``domain pos : [a, b] x [c, d] ...`` the nodes have coordinates ``pos`` ``[N, D]`` (named
``x``, ``y``, ``z`` one column each), and these operators are available:

=========  =============  ======================================================================
written    kind           meaning (stencil on the graph's edges (i receiving, j neighbour))
=========  =============  ======================================================================
dx(f)      node -> node   df/dx_i ~ sum_j W^dx_ij (f_j - f_i)   (likewise dy, dz)
lap(f)     node -> node   Laplacian ~ sum_j W^lap_ij (f_j - f_i)
dgrad(f)   node -> edge   directional derivative along the edge: (f_j - f_i) / |p_j - p_i|
=========  =============  ======================================================================

Every geometric operator is linear with weights that depend only on the coordinates, so it
lowers to ``sum_j(geo_op_ij * (f_j - f_i))`` with ``geo_op`` an edge quantity of level *static*
(computed once per graph by :mod:`pde2gnn.compiler.discretize.geometry`, whose scheme — regular grid,
least squares or mesh — decides the numbers). The existing stencil stage then fuses all such
terms with the same source field into one sparse matrix.
"""
from __future__ import annotations

import sympy as sp

from pde2gnn.compiler.check import Type
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.lang.builtins import GRAPH_VALUES
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic.symbols import SymbolInfo

GEO_WEIGHTS = {n: d for n, d in GRAPH_VALUES.items() if n.startswith("geo_")}
"""Names of the static edge weights and what each scheme puts in them."""

GEO_SYMBOLS = {n: SymbolInfo(n, "graph", Type(Kind.EDGE, (1,))) for n in GEO_WEIGHTS}


class GeoOp(O.GraphOp):
    """A linear geometric stencil ``sum_j W_ij (u_j - u_i)`` with static weights ``W``."""

    nargs = 1
    weight = ""

    def stencil(self) -> sp.Expr:
        u = self.args[0]
        return O.SumJ(sp.Symbol(self.weight) * (O.AtJ(u) - O.AtI(u)))


class Dx(GeoOp):
    spec_name, weight = "dx", "geo_dx"


class Dy(GeoOp):
    spec_name, weight = "dy", "geo_dy"


class Dz(GeoOp):
    spec_name, weight = "dz", "geo_dz"


class GeoLap(GeoOp):
    spec_name, weight = "lap", "geo_lap"


class DGrad(O.GraphOp):
    """``dgrad(u)_ij = (u_j - u_i) / |p_j - p_i|`` (an edge value; PA-DGN's FinGrad)."""

    nargs = 1
    spec_name, weight = "dgrad", "geo_dgrad"

    def stencil(self) -> sp.Expr:
        u = self.args[0]
        return sp.Symbol(self.weight) * (O.AtJ(u) - O.AtI(u))


GEO_FUNCTIONS = {"dx": Dx, "dy": Dy, "dz": Dz, "dgrad": DGrad}
"""Spec name -> class; ``lap`` maps to :class:`GeoLap` only when a domain is declared."""
