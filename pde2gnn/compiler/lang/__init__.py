"""The spec language: grammar-driven parser (lark) and the abstract syntax tree."""
from pde2gnn.compiler.lang.ast import *  # noqa: F401,F403
from pde2gnn.compiler.lang.parser import parse  # noqa: F401
