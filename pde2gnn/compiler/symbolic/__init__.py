"""Symbolic IR: graph operators as sympy functions, lowering from the checked AST, analysis."""
from pde2gnn.compiler.symbolic.ir import IR, SymbolInfo, lower  # noqa: F401
