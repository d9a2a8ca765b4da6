"""The exceptions pde2gnn raises.

Every error a user can cause derives from :class:`Pde2GnnError`, so the CLI catches that one
class, prints the message (no traceback) and exits with status 2.

Spec errors (:class:`SpecError` and subclasses) point into the source: file, line, column, the
source line with a caret under the offending text, what was expected, and a did-you-mean
suggestion for a misspelt name.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Optional


class Pde2GnnError(Exception):
    """Base class of every error caused by user input (specs, options, data, solves)."""


@dataclass(frozen=True)
class Span:
    """A region of spec source text; lines and columns are 1-based, ``end_column`` exclusive.

    ``file`` and ``text`` name the source the region is in (set by the parser). They matter for
    a spec that inherits (``model b extends a``): its statements come from two files, and an
    error quotes the file the offending statement was written in.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    file: Optional[str] = field(default=None, compare=False, repr=False)
    text: Optional[str] = field(default=None, compare=False, repr=False)


class SpecError(Pde2GnnError):
    """An error located in a spec: syntax, names, kinds, shapes or form.

    Args:
        message: what is wrong, e.g. ``div expects an edge field, got node field x``.
        span: where in the source; ``None`` for errors about the spec as a whole.
        source: the full spec text, to quote the offending line.
        filename: shown in the ``file:line:column`` prefix.
        hint: an extra line, e.g. ``did you mean 'lap'?``.

    A span that names its own file (:class:`Span` ``file`` / ``text``) wins over ``source`` and
    ``filename``: a statement inherited from a parent spec is quoted from the parent's file.
    """

    kind = "error"

    def __init__(self, message: str, span: Optional[Span] = None, source: str = "",
                 filename: str = "<spec>", hint: str = ""):
        if span is not None and span.file is not None:
            source, filename = span.text or "", span.file
        self.message = message
        self.span = span
        self.source = source
        self.filename = filename
        self.hint = hint
        super().__init__(self.format())

    def with_source(self, source: str, filename: str) -> "SpecError":
        """Return the same error, attached to a source text and file name."""
        return type(self)(self.message, self.span, source, filename, self.hint)

    def format(self) -> str:
        if self.span is None:
            head = f"{self.filename}: {self.kind}: {self.message}"
            return head + (f"\n  hint: {self.hint}" if self.hint else "")
        sp = self.span
        head = f"{self.filename}:{sp.line}:{sp.column}: {self.kind}: {self.message}"
        lines = self.source.splitlines()
        out = [head]
        if 1 <= sp.line <= len(lines):
            text = lines[sp.line - 1].expandtabs(1)
            width = (sp.end_column - sp.column) if sp.end_line == sp.line else len(text) - sp.column + 1
            width = max(1, width)
            out.append(f"  {sp.line:>4} | {text}")
            out.append("       | " + " " * (sp.column - 1) + "^" * width)
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


class ParseError(SpecError):
    """The text is not in the language (grammar/pde.lark)."""

    kind = "syntax error"


class NameError_(SpecError):
    """A name is unknown, declared twice, or used where it is not allowed."""

    kind = "name error"


class KindError(SpecError):
    """Scalar / node / edge kinds do not fit, e.g. ``div`` of a node field."""

    kind = "kind error"


class ShapeError(SpecError):
    """Channel shapes do not fit, e.g. ``x @ W`` with ``x : node[d]`` and ``W : [k, k]``."""

    kind = "shape error"


class FormError(SpecError):
    """The spec is well typed but not a valid model, e.g. a field with no ``dt`` equation."""

    kind = "form error"


class ArgumentError(SpecError):
    """An operator is called with the wrong number or kind of arguments, e.g. ``dot(x)``."""

    kind = "argument error"


class EnergyError(SpecError):
    """An energy that is not a scalar, or that ``var`` cannot differentiate (e.g. ``relu``)."""

    kind = "energy error"


class UnsupportedError(SpecError):
    """A well-formed construct that a later stage (lowering, code generation, the reference
    interpreter) has no rule for: a gap of pde2gnn, not of the spec."""

    kind = "unsupported"


class OptionError(Pde2GnnError):
    """A compile or run option is missing or invalid (unbound dimension, unknown dataset...)."""


class DataError(Pde2GnnError):
    """A data set is missing, unreadable, or has the wrong shape."""


class SolverError(Pde2GnnError):
    """An ODE solve failed: too many function evaluations, step size underflow, non-finite state."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``"did you mean 'x'?"`` for the closest candidate, or ``""`` if none is close."""
    match = difflib.get_close_matches(name, sorted(set(candidates) - {name}), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else ""
