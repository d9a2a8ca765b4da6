"""The checker: its state, the order of its rules, and the form rules of a whole spec."""
from __future__ import annotations

from typing import Dict, Optional

from ..errors import FormError, KindError, NameError_, ShapeError, Span, did_you_mean
from ..lang import ast as A
from ..lang.inherit import resolve
from .declarations import DeclarationRules
from .domain import DomainRules
from .energies import EnergyRules
from .expressions import ExpressionRules
from .networks import NetworkRules
from . import sheaf
from .types import GRAPH_METHODS, CheckedSpec, Type


class Checker(DeclarationRules, DomainRules, NetworkRules, EnergyRules, ExpressionRules):
    """Checks one parsed spec (:func:`check`): the rule sets are mixed in, the state lives here."""

    def __init__(self, spec: A.Spec):
        self.spec = spec
        self.decls: Dict[str, object] = {}
        self.types: Dict[int, Type] = {}
        self.let_types: Dict[str, Type] = {}
        self._energy_types: Dict[str, Type] = {}  # checked when var(...) uses them, or at the end
        self.head_checks: list = []
        self.index_checks: list = []
        self._resolving: list = []
        self.sheaves: dict = {}
        # set by run() as it goes; the rule sets read them (None / empty / False until then)
        self.domain: Optional[A.DomainDecl] = None
        self.nets: Dict[str, object] = {}
        self.energies: Dict[str, A.EnergyDecl] = {}
        self.discrete = False
        self._energy: Optional[str] = None   # the energy being checked, if any

    def err(self, cls, msg, span, hint=""):
        return cls(msg, span, self.spec.source, self.spec.filename, hint)

    def run(self) -> CheckedSpec:
        s = self.spec
        self.dims: Dict[str, Optional[int]] = {}
        self.check_numbers()
        fields, inputs, params, learns, lets, energies, equations = {}, {}, {}, {}, {}, {}, {}
        graph = None
        models = [st for st in s.statements if isinstance(st, A.ModelDecl)]
        if len(models) > 1:
            raise self.err(FormError, "a spec declares exactly one model", models[1].span)
        self.domain = None
        for st in s.statements:
            if isinstance(st, A.DomainDecl):
                self.check_domain(st, inputs)
        for st in s.statements:
            if isinstance(st, A.DimDecl):
                self.declare(st.name, st, st.span)
                self.dims[st.name] = st.value
        states, nets, coords = [], {}, []
        for st in s.statements:
            if isinstance(st, (A.StateDecl, A.InputDecl)) and st.stalk is not None:
                raise self.err(KindError, "only a field can have a stalk (node[d, k]); write "
                               f"'{st.name} : node[channels]'", st.stalk.span)
            if isinstance(st, A.StateDecl):
                self.declare(st.name, st, st.span)
                if st.kind != "node":
                    raise self.err(KindError, f"states live on nodes: write '{st.name} : "
                                   "node[...]'", st.span)
                fields[st.name] = Type("node", (self.check_dim(st.dim),))
                states.append(st.name)
            elif isinstance(st, A.NetDecl):
                self.declare(st.name, st, st.span)
                nets[st.name] = self.check_net(st)
            elif isinstance(st, (A.FieldDecl, A.InputDecl)):
                self.declare(st.name, st, st.span)
                kind = "node"
                if st.kind == "coords" and isinstance(st, A.FieldDecl):
                    coords.append(st.name)
                elif st.kind == "edge" and isinstance(st, A.InputDecl):
                    kind = "edge"   # given per edge (edge_weight / edge_attr)
                elif st.kind != "node":
                    raise self.err(KindError, f"{'fields' if isinstance(st, A.FieldDecl) else 'inputs'}"
                                   f" live on nodes: write '{st.name} : node[...]'"
                                   + (" (inputs may also be 'edge[...]')"
                                      if isinstance(st, A.InputDecl) else ""), st.span)
                t = Type(kind, (self.check_dim(st.dim),))
                if isinstance(st, A.FieldDecl) and st.stalk is not None:
                    t = sheaf.stalk_field_type(self, st, t)
                (fields if isinstance(st, A.FieldDecl) else inputs)[st.name] = t
            elif isinstance(st, A.ParamDecl):
                self.declare(st.name, st, st.span)
                params[st.name] = st
            elif isinstance(st, A.LearnDecl):
                self.declare(st.name, st, st.span)
                learns[st.name] = st
            elif isinstance(st, A.LetDecl):
                self.declare(st.name, st, st.span)
                lets[st.name] = st
            elif isinstance(st, A.EnergyDecl):
                self.declare(st.name, st, st.span)
                energies[st.name] = st
            elif isinstance(st, A.GraphDecl):
                if graph is not None:
                    raise self.err(FormError, "only one graph clause is allowed", st.span)
                if st.method not in GRAPH_METHODS:
                    raise self.err(NameError_, f"unknown graph construction '{st.method}'",
                                   st.span, did_you_mean(st.method, GRAPH_METHODS))
                graph = st
            elif isinstance(st, A.Equation):
                first = next(iter(equations.values()), None)
                if first is not None and first.op != st.op:
                    raise self.err(FormError, f"a model is either continuous (dt(x) = ...) or "
                                   f"discrete-time (next(x) = ...), not both: line "
                                   f"{first.span.line} uses {first.op}(...)", st.span)
                if st.field in equations:
                    raise self.err(FormError, f"field '{st.field}' has two {st.op} equations "
                                   f"(first on line {equations[st.field].span.line})", st.span)
                equations[st.field] = st
        self.fields, self.inputs, self.params, self.learns, self.lets, self.energies = (
            fields, inputs, params, learns, lets, energies)
        self.nets, self.states = nets, tuple(states)
        sheaf.collect_sheaves(self, lets)
        # the observed field(s) first, then the hidden states: the order of the state vector
        fields = {**{f: t for f, t in fields.items() if f not in states},
                  **{f: fields[f] for f in states}}
        self.fields = fields
        discrete = any(eq.op == "next" for eq in equations.values())
        self.discrete = discrete
        observed = [f for f in fields if f not in states]
        if not observed:
            first = models[0] if models else (s.statements[0] if s.statements else None)
            raise self.err(FormError, "the spec declares no evolving field "
                           "(add e.g. 'field x : node[d]')",
                           first.span if first is not None else Span(1, 1, 1, 2))
        if states and not discrete:
            raise self.err(FormError, "a 'state' is a hidden state of a discrete-time model: "
                           "update it with next(...) = ...",
                           self.decls[states[0]].span)
        if discrete and len(observed) > 1:
            raise self.err(FormError, "a discrete-time model has one observed field (the "
                           "signal it forecasts); declare the others as 'state'",
                           self.decls[observed[1]].span)

        learn_types = {n: self.learn_type(d) for n, d in learns.items()}
        self.learn_types = learn_types
        for p in params.values():
            t = self.expr(p.value)
            if t.kind != "scalar" or self.depends_on_state_or_learn(p.value):
                raise self.err(KindError, f"param '{p.name}' must be a constant number "
                               "expression", p.value.span)
        for d in learns.values():
            if d.init is not None and self.expr(d.init).kind != "scalar":
                raise self.err(KindError, f"the initial value of '{d.name}' must be a number",
                               d.init.span)
        for name in lets:
            self.let_type(name)
        for eq in equations.values():
            if eq.field not in fields:
                kind = type(self.decls[eq.field]).__name__.replace("Decl", "").lower() \
                    if eq.field in self.decls else None
                what = f"'{eq.field}' is a {kind}, not a field" if kind else \
                    f"'{eq.field}' is not a declared field"
                raise self.err(FormError, f"{eq.op}(...) needs an evolving field: {what}",
                               eq.field_span, did_you_mean(eq.field, fields))
            ft, rt = fields[eq.field], self.expr(eq.rhs)
            if rt.kind not in ("node", "scalar"):
                raise self.err(KindError, f"the right-hand side of {eq.op}({eq.field}) must be a "
                               f"node field, got {rt.describe()}", eq.rhs.span)
            if rt.channels not in (1, ft.channels):
                raise self.err(ShapeError, f"{eq.op}({eq.field}) has {ft.channels} channel(s) but "
                               f"the right-hand side has {rt.channels}", eq.rhs.span)
        for name in energies:
            self.energy_type(name)
        op = "next" if discrete else "dt"
        for f in fields:
            if f not in equations:
                raise self.err(FormError, f"{'state' if f in states else 'field'} '{f}' has no "
                               f"equation {op}({f}) = ...", self.decls[f].span)
        checked = CheckedSpec(s, s.name, fields, inputs, self.dims, params, learns, learn_types,
                              lets, self.let_types, energies, equations, graph, self.types,
                              self.domain, self.states, nets, tuple(self.head_checks),
                              tuple(self.index_checks), tuple(coords), dict(self.sheaves))
        if coords:
            from ..equivariance import check_equivariance
            check_equivariance(checked)
        return checked


def check(spec: A.Spec) -> CheckedSpec:
    """Resolve names, kinds and shapes of a parsed spec, after merging in its parents
    (``model b extends a``: :func:`pde2gnn.lang.inherit.resolve`; ``CheckedSpec.spec`` is the
    merged spec).

    Raises:
        NameError_: unknown or duplicate names (with a did-you-mean suggestion); a bad
            ``extends`` / ``override``.
        KindError: e.g. ``div`` applied to a node field, node and edge values mixed.
        ShapeError: channel counts that do not fit.
        FormError: a field without a ``dt`` equation, two equations for one field, ...
    """
    return Checker(resolve(spec)).run()
