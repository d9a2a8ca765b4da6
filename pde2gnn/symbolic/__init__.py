"""Symbolic IR: graph operators as sympy functions, lowering from the checked AST, analysis."""
from .ir import IR, SymbolInfo, lower  # noqa: F401
