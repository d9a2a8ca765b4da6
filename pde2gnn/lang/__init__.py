"""The spec language: grammar-driven parser (lark) and the abstract syntax tree."""
from .ast import *  # noqa: F401,F403
from .parser import parse  # noqa: F401
