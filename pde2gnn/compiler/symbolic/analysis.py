"""Static analysis of IR expressions: kind (scalar / node / edge), channels, level, state use."""
from __future__ import annotations

from typing import Dict

import sympy as sp

from pde2gnn.compiler.check import resolve_channels
from pde2gnn.compiler.lang.builtins import BUILTINS
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.symbolic import ops as O
from pde2gnn.compiler.symbolic.symbols import Level, SymbolInfo

_RANK = {Kind.SCALAR: 0, Kind.NODE: 1, Kind.EDGE: 2}


class Analyzer:
    """Answers questions about IR subexpressions, given the symbol table of a bound IR.

    ``extra`` maps names of symbols introduced by later stages (``deg_inv``, hoisted
    temporaries) to their :class:`SymbolInfo`.
    """

    def __init__(self, symbols: Dict[str, SymbolInfo], dims: Dict[str, int]):
        self.symbols = dict(symbols)
        self.dims = dims
        self._kind: Dict[sp.Expr, Kind] = {}

    def add(self, info: SymbolInfo):
        self.symbols[info.name] = info

    def kind(self, e: sp.Expr) -> Kind:
        """:class:`Kind` SCALAR, NODE or EDGE (matrices count as scalar)."""
        k = self._kind.get(e)
        if k is None:
            k = self._kind[e] = self._kind_of(e)
        return k

    def _kind_of(self, e):
        if e.is_Number:
            return Kind.SCALAR
        if hasattr(e, "analysis_kind"):     # sheaf operators (symbolic/sheaf.py)
            return e.analysis_kind(self)
        if e.is_Symbol:
            k = self.symbols[e.name].type.kind
            return Kind.SCALAR if k in (Kind.MATRIX, Kind.NET) else k
        if isinstance(e, O.GraphNetApply):
            return Kind.EDGE
        if isinstance(e, O.Slice):
            return self.kind(e.args[0])
        if isinstance(e, (O.SumI, O.SumIJ)):
            return Kind.SCALAR
        if isinstance(e, O.ENDPOINTS):
            return Kind.EDGE
        if isinstance(e, O.MatMul):
            return self.kind(e.args[0])
        row = BUILTINS.get(getattr(e, "spec_name", ""))
        if row is not None and row.gives is not None:     # grad, sum_j, dgrad: their rows
            return row.gives
        return max((self.kind(a) for a in e.args), key=_RANK.__getitem__, default=Kind.SCALAR)

    def channels(self, e: sp.Expr) -> int:
        """Channel count of a value (after dimensions are bound)."""
        if e.is_Number:
            return 1
        if e.is_Symbol:
            return resolve_channels(self.symbols[e.name].type.channels, self.dims)
        if hasattr(e, "analysis_channels"):
            return e.analysis_channels(self)
        if isinstance(e, O.Fill):     # Fill(c, n): n channels (an int or a dimension symbol)
            return resolve_channels(e.args[1], self.dims)
        if isinstance(e, O.Dot) and len(e.args) == 3:
            return int(e.args[2])
        if isinstance(e, O.Dot) or getattr(BUILTINS.get(getattr(e, "spec_name", "")),
                                           "channels", "") == "one":
            return 1
        if isinstance(e, O.NetApply):
            return self.channels(e.args[0])
        if isinstance(e, O.Slice):
            return int(e.args[2] - e.args[1])
        if isinstance(e, O.Cat):
            return sum(self.channels(a) for a in e.args)
        if isinstance(e, O.MatMul):
            w = e.args[1]
            c = self.symbols[w.args[0].name].type.shape[0] if isinstance(w, O.Transpose) \
                else self.symbols[w.name].type.shape[1]
            return resolve_channels(c, self.dims)
        # elementwise: channel counts agree or are 1 (checked), so the first non-1 one is it
        return next((c for c in map(self.channels, e.args) if c != 1), 1)

    def level(self, e: sp.Expr) -> Level:
        """When ``e`` changes: the latest :class:`Level` of its symbols (``init(x)``: once
        per solve)."""
        if e.has(O.Init):
            return self._level_rec(e)
        return max((self.symbols[s.name].level for s in e.free_symbols), default=Level.STATIC)

    def _level_rec(self, e) -> Level:
        if isinstance(e, O.Init):
            return Level.SOLVE
        if e.is_Symbol:
            return self.symbols[e.name].level
        return max((self._level_rec(a) for a in e.args), default=Level.STATIC)

    def uses_state(self, e: sp.Expr) -> bool:
        return self.level(e) == Level.STEP
