"""One definition of the structure of an expression: its children, and a walk over them.

Every pass over spec expressions (the checker's name and depth rules, the lowering's search for
``var``) visits sub-expressions through :func:`children`, so a new expression node is added to
the language in one place and no pass can skip it (before this module, one hand-written walker
skipped channel slices ``x[0:2]``).
"""
from __future__ import annotations

from typing import Iterator, Tuple

from pde2gnn.compiler.lang import ast as A


def children(e: A.Expr) -> Tuple[A.Expr, ...]:
    """The direct sub-expressions of ``e``, in source order (keyword values included).

    Raises:
        TypeError: ``e`` is not an expression node of :mod:`pde2gnn.compiler.lang.ast`.
    """
    if isinstance(e, (A.Number, A.Name)):
        return ()
    if isinstance(e, A.Call):
        return tuple(e.args) + tuple(v for _, v in e.kwargs)
    if isinstance(e, A.BinOp):
        return (e.left, e.right)
    if isinstance(e, (A.Neg, A.Index)):
        return (e.operand,)
    raise TypeError(f"not an expression node: {type(e).__name__}")


def walk(e: A.Expr) -> Iterator[A.Expr]:
    """Every sub-expression of ``e`` (``e`` first), depth first in source order, without
    recursion (a sum of thousands of terms is fine)."""
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(reversed(children(x)))
