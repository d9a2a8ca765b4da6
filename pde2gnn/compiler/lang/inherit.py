"""Spec inheritance: ``model b extends a`` -> one flat :class:`~pde2gnn.compiler.lang.ast.Spec`.

A child spec is its parent's statements, in the parent's order, with

- each ``override <statement>`` of the child put in place of the parent's statement of the same
  name (a declaration ``learn W ...``, ``let a = ...``, an equation ``dt(x) = ...``, the
  ``graph ...`` line), and
- the child's other statements appended after them.

Redeclaring a parent's name without ``override`` is a :class:`~pde2gnn.errors.NameError_` that
names both files; so is an ``override`` of a name the parent does not have. The parent is found
beside the child's file (``<folder>/<parent>.pde``), else like a model name on the command line
(:func:`pde2gnn.resources.resolve_spec`: a path or a library model). Parents may extend in turn;
a cycle is an error. Every span keeps the file it was written in, so a later error in an
inherited statement quotes the parent's file. The checker only ever sees the flat result.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Tuple

from pde2gnn.errors import FormError, NameError_, OptionError
from pde2gnn.resources import resolve_spec
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.parser import parse_file


def statement_key(stmt: A.Stmt) -> Optional[Tuple[str, ...]]:
    """What a statement defines, for matching a child's statement with its parent's:
    ``('name', n)`` for a declaration (names share one namespace), ``('dt', x)`` /
    ``('next', x)`` for an equation, ``('graph',)`` and ``('model',)``."""
    if isinstance(stmt, A.Equation):
        return (stmt.op, stmt.field)
    if isinstance(stmt, A.GraphDecl):
        return ("graph",)
    if isinstance(stmt, A.ModelDecl):
        return ("model",)
    if isinstance(stmt, A.BcDecl):   # never replaces a parent's: the checker finds two on a face
        return ("bc", stmt.field, str(stmt.span))
    return ("name", stmt.name)


def _describe(key: Tuple[str, ...]) -> str:
    if key[0] in ("dt", "next"):
        return f"equation {key[0]}({key[1]})"
    if key[0] in ("graph", "model"):
        return f"the {key[0]} line"
    return f"'{key[1]}'"


def _where(span: A.Span) -> str:
    return f"{span.file}:{span.line}"


def model_decl(spec: A.Spec) -> Optional[A.ModelDecl]:
    """The spec's ``model`` line, if it has one."""
    return next((s for s in spec.statements if isinstance(s, A.ModelDecl)), None)


def find_parent(name: str, child_file: str) -> Path:
    """Path of the parent spec ``name`` of a spec read from ``child_file``: ``name.pde`` beside
    the child, else a path or library model (:func:`~pde2gnn.resources.resolve_spec`).

    Raises:
        OptionError: no such spec.
    """
    beside = Path(child_file).with_name(f"{name}.pde")
    if Path(child_file).is_file() and beside.is_file():
        return beside
    return resolve_spec(name)


def resolve(spec: A.Spec, _chain: Tuple[str, ...] = ()) -> A.Spec:
    """The flat spec of ``spec`` (itself when it extends nothing); see the module docstring.

    Raises:
        NameError_: an unknown parent, an inheritance cycle, a parent's name redeclared without
            ``override``, an ``override`` of a name the parent lacks, or ``override`` in a spec
            that extends nothing.
        ParseError: the parent does not parse.
        FormError: a second ``model`` line.
    """
    model = model_decl(spec)
    if model is None or model.parent is None:
        stray = next((s for s in spec.statements if isinstance(s, A.Override)), None)
        if stray is not None:
            raise NameError_("'override' replaces a statement of a parent model, and this model "
                             "extends none", stray.span, spec.source, spec.filename,
                             "write 'model NAME extends PARENT'")
        return spec
    try:
        path = find_parent(model.parent, spec.filename)
    except OptionError as e:
        raise NameError_(f"unknown parent model '{model.parent}': {e}", model.parent_span,
                         spec.source, spec.filename) from None
    if str(path.resolve()) in _chain or (Path(spec.filename).is_file()
                                         and path.resolve() == Path(spec.filename).resolve()):
        raise NameError_(f"inheritance cycle: '{model.name}' extends '{model.parent}', which "
                         "extends it back", model.parent_span, spec.source, spec.filename)
    chain = _chain + (str(Path(spec.filename).resolve()),)
    parent = resolve(parse_file(path), chain)

    flat_model = dataclasses.replace(model, parent=None, parent_span=None)  # resolved: idempotent
    inherited = [flat_model] + [s for s in parent.statements
                                if not isinstance(s, A.ModelDecl)]
    merged = list(inherited)
    origin = {statement_key(s): i for i, s in enumerate(inherited)}
    for stmt in spec.statements:
        if stmt is model:
            continue
        if isinstance(stmt, A.ModelDecl):
            raise FormError("a spec declares exactly one model", stmt.span, spec.source,
                            spec.filename, f"this file's model is '{model.name}' "
                            f"(line {model.span.line})")
        inner = stmt.statement if isinstance(stmt, A.Override) else stmt
        key = statement_key(inner)
        if isinstance(stmt, A.Override):
            if key not in origin:
                raise NameError_(f"override of {_describe(key)}: the parent model "
                                 f"'{parent.name}' ({path}) has none", stmt.span, spec.source,
                                 spec.filename, "drop 'override' to add a new statement")
            merged[origin[key]] = inner
        elif key in origin:
            raise NameError_(f"{_describe(key)} is already declared by the parent model "
                             f"'{parent.name}' at {_where(inherited[origin[key]].span)}",
                             inner.span, spec.source, spec.filename,
                             "write 'override ...' to replace the parent's statement, or "
                             "choose another name")
        else:       # a new statement (a repeated one is the checker's "declared twice")
            merged.append(inner)
    return A.Spec(tuple(merged), spec.source, spec.filename)
