"""Candidate library: the additive terms of a library spec's ``dt`` equation."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from pde2gnn.errors import FormError


DEFAULT_LIBRARY = """\
# Default candidate terms of `pde2gnn discover`: polynomials of x_i up to degree 3 (F) and
# couplings sum_j A_ij G(x_i, x_j) with linear, bilinear and saturating G (Gao & Yan 2022).
model candidates
field x : node[d]
dt(x) = (1 + x + x^2 + x^3
         + sum_j(x_j) + lap(x) + sum_j(x_i*x_j)
         + sum_j(x_j/(1 + x_j)) + sum_j(x_j^2/(1 + x_j^2)) + sum_j(x_i*x_j/(1 + x_i + x_j)))
"""


@dataclass(frozen=True)
class Library:
    """Candidate terms: the additive terms of a library spec's ``dt`` equation.

    Attributes:
        name: the library's model name.
        field: the evolving field's name.
        header: the spec's source without its ``dt`` equation (declarations, lets, domain).
        terms: source text of each candidate term, signs dropped (``lap(x)``, ``x^3``, ...).
        channels: the field's symbolic channel dimension (``d`` of ``node[d]``: states are
            batched as channels), or None for a one-channel field (batched on a leading axis).
        domain: name of the coordinates input if the library declares a ``domain``.
    """

    name: str
    field: str
    header: str
    terms: Tuple[str, ...]
    channels: Optional[str]
    domain: Optional[str] = None

    def term_spec(self, k: int) -> str:
        """A spec whose vector field is candidate term k alone."""
        return f"{self.header}\ndt({self.field}) = {self.terms[k]}\n"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def load_library(spec: Optional[str] = None) -> Library:
    """Candidate library from a library name, ``.pde`` path or spec text (None: the default).

    Raises:
        SpecError: the spec does not parse or check.
        FormError: it has no single field with one ``dt`` equation, or a term repeats.
    """
    from pde2gnn.compiler.check import check
    from pde2gnn.compiler.pipeline import load
    from pde2gnn.compiler.lang import ast as A

    parsed = load(DEFAULT_LIBRARY if spec is None else spec)
    checked = check(parsed)
    src, fname = parsed.source, parsed.filename
    eqs = [s for s in parsed.statements if isinstance(s, A.Equation)]
    if checked.discrete or len(checked.fields) != 1 or len(eqs) != 1:
        raise FormError(f"a candidate library needs one field with one dt(...) equation whose "
                        f"terms are the candidates; '{checked.name}' has "
                        f"{len(checked.fields)} field(s) and {len(eqs)} dt equation(s)",
                        None, src, fname)
    eq = eqs[0]
    lines = src.splitlines()
    offsets = np.cumsum([0] + [len(l) + 1 for l in lines])

    def text(span) -> str:
        a = offsets[span.line - 1] + span.column - 1
        b = offsets[span.end_line - 1] + span.end_column - 1
        return src[a:b]

    def wrapped(e) -> bool:  # written in parentheses: one term, not split
        t = text(e.span)
        a = offsets[e.span.line - 1] + e.span.column - 1
        b = a + len(t)
        return src[:a].rstrip().endswith("(") and src[b:].lstrip().startswith(")")

    terms: List[str] = []

    def split(e, top=False):  # a bracketed sum is one term, except the whole right-hand side
        if isinstance(e, A.BinOp) and e.op in "+-" and (top or not wrapped(e)):
            split(e.left)
            split(e.right)
        elif isinstance(e, A.Neg):
            split(e.operand)
        else:
            t = " ".join(text(e.span).split())
            if wrapped(e) and isinstance(e, A.BinOp) and e.op in "+-":
                t = f"({t})"
            if t in terms:
                raise FormError(f"candidate term '{t}' appears twice", e.span, src, fname)
            terms.append(t)

    split(eq.rhs, top=True)
    keep = [l for k, l in enumerate(lines, 1) if not (eq.span.line <= k <= eq.span.end_line)]
    field_name, ftype = next(iter(checked.fields.items()))
    chan = ftype.channels
    if not isinstance(chan, str) and chan != 1:
        raise FormError(f"the library's field '{field_name}' has {chan} channels; discovery "
                        "fits one value per node: declare it node[d] or node", eq.field_span,
                        src, fname)
    return Library(checked.name, field_name, "\n".join(keep).rstrip(), tuple(terms),
                   chan if isinstance(chan, str) else None,
                   checked.domain.name if checked.domain is not None else None)
