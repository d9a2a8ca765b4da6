"""Spec text -> :class:`~pde2gnn.compiler.lang.ast.Spec`, with precise syntax errors.

The grammar is ``grammar/pde.lark`` (LALR(1)); it ships inside the package. Syntax errors
become :class:`~pde2gnn.errors.ParseError` with file:line:column, the source line and a caret,
the tokens that were expected, and a did-you-mean suggestion for misspelt keywords.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterator, Union

import lark
from lark import Token, v_args
from lark.visitors import Transformer_NonRecursive

from pde2gnn.errors import ParseError, Span, did_you_mean
from pde2gnn.resources import grammar_path
from pde2gnn.compiler.lang import ast as A

KEYWORDS = ("model", "field", "input", "dim", "param", "learn", "let", "edge", "energy",
            "graph", "dt", "domain", "next", "state", "net", "extends", "override", "bc")

_READABLE = {"NAME": "a name", "NUMBER": "a number", "INT": "an integer",
             "_NL": "end of line", "$END": "end of input", "KIND": "'node' or 'edge'"}


class _BracketNewlines:
    """Post-lexer: drop newlines inside (), [] so expressions may span lines."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        for tok in stream:
            if tok.type in ("LPAR", "LSQB"):
                depth += 1
            elif tok.type in ("RPAR", "RSQB"):
                depth = max(0, depth - 1)
            elif tok.type == "_NL" and depth > 0:
                continue
            yield tok


@functools.lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(grammar_path().read_text(), parser="lalr", lexer="contextual",
                     postlex=_BracketNewlines(), propagate_positions=True,
                     maybe_placeholders=False)


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive):
    def __init__(self, filename: str, text: str):
        super().__init__()
        self.filename, self.text = filename, text

    def _span(self, meta_or_tok) -> Span:
        """The :class:`Span` of a tree node or token, naming this file."""
        return Span(meta_or_tok.line, meta_or_tok.column, meta_or_tok.end_line,
                    meta_or_tok.end_column, self.filename, self.text)

    # expressions
    def number(self, meta, c):
        return A.Number(float(c[0]), self._span(meta))

    def name(self, meta, c):
        return A.Name(str(c[0]), self._span(meta))

    def call(self, meta, c):
        func, rest = c[0], c[1:]
        args = tuple(a for a in rest if not isinstance(a, tuple))
        kwargs = tuple(a for a in rest if isinstance(a, tuple))
        return A.Call(str(func), args, kwargs, self._span(meta), self._span(func))

    def kwarg(self, meta, c):
        return (str(c[0]), c[1])

    def _bin(op):
        def f(self, meta, c):
            return A.BinOp(op, c[0], c[1], self._span(meta))
        return f

    add, sub, mul, div, matmul, pow = _bin("+"), _bin("-"), _bin("*"), _bin("/"), _bin("@"), _bin("^")

    def neg(self, meta, c):
        return A.Neg(c[0], self._span(meta))

    def index(self, meta, c):
        k = int(c[1])
        return A.Index(c[0], k, k + 1, self._span(meta))

    def slice(self, meta, c):
        return A.Index(c[0], int(c[1]), int(c[2]), self._span(meta))

    # shapes
    def dim_name(self, meta, c):
        return A.Dim(str(c[0]), self._span(meta))

    def dim_int(self, meta, c):
        return A.Dim(int(c[0]), self._span(meta))

    def kind_spec(self, meta, c):
        # (kind, channels, stalk): node[k] -> (node, k, None); node[d, k] -> (node, k, d)
        if len(c) > 2:
            return (str(c[0]), c[2], c[1])
        return (str(c[0]), c[1] if len(c) > 1 else None, None)

    def shape(self, meta, c):
        return tuple(c)

    def scalar_shape(self, meta, c):
        return ()

    def constraint(self, meta, c):
        return (str(c[0]), self._span(c[0]))

    # statements
    def model_decl(self, meta, c):
        parent = c[1] if len(c) > 1 else None
        return A.ModelDecl(str(c[0]), self._span(meta), None if parent is None else str(parent),
                           None if parent is None else self._span(parent))

    def override(self, meta, c):
        return A.Override(c[0], self._span(meta))

    def field_decl(self, meta, c):
        kind, dim, stalk = c[1]
        return A.FieldDecl(str(c[0]), kind, dim, self._span(meta), stalk)

    def input_decl(self, meta, c):
        kind, dim, stalk = c[1]
        flag = (str(c[2]), self._span(c[2])) if len(c) > 2 else None
        return A.InputDecl(str(c[0]), kind, dim, self._span(meta), stalk, flag)

    def bc_face(self, meta, c):
        return ("face", (str(c[0]), c[1]), None, self._span(meta))

    def bc_set(self, meta, c):
        return ("set", None, str(c[0]), self._span(meta))

    def bc_decl(self, meta, c):
        _, face, where, wspan = c[1]
        return A.BcDecl(str(c[0]), face, where, str(c[2]), tuple(c[3:]), self._span(meta),
                        self._span(c[0]), wspan, self._span(c[2]))

    def _cmp(name):
        def f(self, meta, c):
            span = self._span(meta)
            return A.Call(name, (c[0], c[1]), (), span, span)
        return f

    lt, le, gt, ge, eq = _cmp("lt"), _cmp("le"), _cmp("gt"), _cmp("ge"), _cmp("eq")

    def dim_decl(self, meta, c):
        return A.DimDecl(str(c[0]), int(c[1]), self._span(meta))

    def param_decl(self, meta, c):
        return A.ParamDecl(str(c[0]), c[1], self._span(meta))

    def learn_decl(self, meta, c):
        name, rest = str(c[0]), list(c[1:])
        shape = rest.pop(0) if rest and isinstance(rest[0], tuple) and (
            not rest[0] or isinstance(rest[0][0], A.Dim)) else ()
        constraints = tuple(r for r in rest if isinstance(r, tuple))
        init = next((r for r in rest if not isinstance(r, tuple)), None)
        return A.LearnDecl(name, shape, constraints, init, self._span(meta))

    def let_decl(self, meta, c):
        return A.LetDecl(str(c[0]), c[1], False, self._span(meta))

    def edge_decl(self, meta, c):
        return A.LetDecl(str(c[0]), c[1], True, self._span(meta))

    def energy_decl(self, meta, c):
        return A.EnergyDecl(str(c[0]), c[1], self._span(meta))

    def graph_decl(self, meta, c):
        args = tuple(a for a in c[1:] if not isinstance(a, tuple))
        kwargs = tuple(a for a in c[1:] if isinstance(a, tuple))
        return A.GraphDecl(str(c[0]), args, kwargs, self._span(meta))

    def interval(self, meta, c):
        return ("interval", c[0], c[1])

    def domain_opt(self, meta, c):
        return ("option", str(c[0]), str(c[1]) if len(c) > 1 else None, self._span(meta))

    def domain_decl(self, meta, c):
        bounds = tuple((a, b) for tag, a, b in (x for x in c[1:] if x[0] == "interval"))
        options = tuple(x[1:] for x in c[1:] if x[0] == "option")
        return A.DomainDecl(str(c[0]), bounds, options, self._span(meta))

    def equation(self, meta, c):
        return A.Equation(str(c[0]), c[1], self._span(meta), self._span(c[0]))

    def next_equation(self, meta, c):
        return A.Equation(str(c[0]), c[1], self._span(meta), self._span(c[0]), "next")

    def state_decl(self, meta, c):
        kind, dim, stalk = c[1]
        return A.StateDecl(str(c[0]), kind, dim, self._span(meta), stalk)

    def net_decl(self, meta, c):
        rest = c[2:]
        kwargs = tuple(a for a in rest if isinstance(a, tuple))
        positional = tuple(a for a in rest if not isinstance(a, tuple))
        return A.NetDecl(str(c[0]), str(c[1]), kwargs, positional, self._span(meta), self._span(c[1]))

    def start(self, meta, c):
        return tuple(c)


def _describe(term: str) -> str:
    if term in _READABLE:
        return _READABLE[term]
    try:
        pattern = _parser().get_terminal(term).pattern
    except KeyError:
        return term
    if isinstance(pattern, lark.lexer.PatternStr):
        return repr(pattern.value)
    return term.lower()


def _expected(terms) -> str:
    names = sorted({_describe(t) for t in terms})
    if len(names) > 8:
        names = names[:8] + ["..."]
    return ", ".join(names)


def _unclosed_bracket(text: str, upto: Token):
    """The innermost '(' or '[' still open before token ``upto``, if any."""
    stack = []
    try:
        for tok in _parser().lex(text):
            if upto.type != "$END" and (tok.line, tok.column) >= (upto.line, upto.column):
                break
            if tok.type in ("LPAR", "LSQB"):
                stack.append(tok)
            elif tok.type in ("RPAR", "RSQB") and stack:
                stack.pop()
    except lark.exceptions.LarkError:
        return None
    return stack[-1] if stack else None


def parse(text: str, filename: str = "<spec>") -> A.Spec:
    """Parse spec source text into a :class:`~pde2gnn.compiler.lang.ast.Spec`.

    Args:
        text: the spec source.
        filename: used in error messages.

    Raises:
        ParseError: the text is not in the language; the message points at the offending token.
    """
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            line = text.count("\n") + 1
            col = len(text.splitlines()[-1]) + 1 if text.splitlines() else 1
            span, what = Span(line, col, line, col + 1), "end of input"
        else:
            span = Span(tok.line, tok.column, tok.end_line or tok.line,
                        tok.end_column or tok.column + 1)
            what = "end of line" if tok.type == "_NL" else repr(str(tok))
        hint = ""
        if tok.type in ("$END", "_NL") or str(tok) in KEYWORDS:
            unclosed = _unclosed_bracket(text, tok)
            if unclosed is not None:
                raise ParseError(f"'{unclosed}' is never closed", Span(
                    unclosed.line, unclosed.column, unclosed.line, unclosed.column + 1),
                    text, filename, "expressions may span lines only inside brackets") from None
        if tok.type == "NAME":
            hint = did_you_mean(str(tok), KEYWORDS)
        raise ParseError(f"unexpected {what}; expected {_expected(e.expected)}", span, text,
                         filename, hint) from None
    except lark.exceptions.UnexpectedCharacters as e:
        span = Span(e.line, e.column, e.line, e.column + 1)
        raise ParseError(f"unexpected character {text[e.pos_in_stream]!r}", span, text,
                         filename) from None
    except lark.exceptions.UnexpectedEOF as e:  # pragma: no cover - LALR reports UnexpectedToken
        raise ParseError(f"unexpected end of input; expected {_expected(e.expected)}", None,
                         text, filename) from None
    # non-recursive transformer: a sum of thousands of terms is as fine as a short one
    return A.Spec(_ToAst(filename, text).transform(tree), text, filename)


def read_spec(path: Union[str, Path]) -> str:
    """The text of a spec file, read as UTF-8.

    Raises:
        ParseError: the file is not valid UTF-8; the message gives the line and column of the
            first byte that is not, e.g. Latin-1 ``0xe9`` for 'é'.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        text = data.decode("utf-8", errors="replace")
        raise ParseError(f"the file is not UTF-8 text: byte 0x{data[e.start]:02x} cannot be "
                         "decoded", Span(line, col, line, col + 1), text, str(path),
                         "save the spec as UTF-8") from None


def parse_file(path: Union[str, Path]) -> A.Spec:
    """Parse a ``.pde`` file (UTF-8); see :func:`parse` and :func:`read_spec`."""
    return parse(read_spec(path), str(path))
