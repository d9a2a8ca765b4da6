"""The checker: its passes in order, its inferred tables, and the form rules of a whole spec."""
from __future__ import annotations

from typing import Dict, Optional

from pde2gnn.errors import FormError, KindError, ShapeError, did_you_mean
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import INITIALISERS
from pde2gnn.compiler.lang.inherit import resolve
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.check.equivariance import check_equivariance
from pde2gnn.compiler.check.boundary import BoundaryRules
from pde2gnn.compiler.check.declarations import DeclarationRules
from pde2gnn.compiler.check.domain import DomainRules
from pde2gnn.compiler.check.energies import EnergyRules
from pde2gnn.compiler.check.expressions import ExpressionRules
from pde2gnn.compiler.check.networks import NetworkRules
from pde2gnn.compiler.check.scope import Scope
from pde2gnn.compiler.types import CheckedSpec, Type


class Checker(DeclarationRules, DomainRules, BoundaryRules, NetworkRules, EnergyRules, ExpressionRules):
    """Checks one parsed spec (:func:`check`) by running :attr:`PASSES` in order.

    The declaration pass builds :attr:`scope` (what the spec declares, :class:`.Scope`); the
    rule passes read it and fill the inferred tables below. The rule sets are mixed in.
    """

    #: the passes, in order (each a method; every one after ``declare_all`` reads the scope)
    PASSES = ("check_numbers", "declare_all", "check_fields", "type_learnables",
              "check_constants", "type_lets", "check_equations", "type_energies",
              "check_complete", "check_boundary")

    def __init__(self, spec: A.Spec):
        self.spec = spec
        self.scope = Scope()
        # inferred: filled by the rule passes
        self.types: Dict[int, Type] = {}          # id(expr) -> its type
        self.learn_types: Dict[str, Type] = {}
        self.let_types: Dict[str, Type] = {}
        self._energy_types: Dict[str, Type] = {}  # checked when var(...) uses them, or at the end
        self.sheaves: dict = {}
        self.head_checks: list = []
        self.index_checks: list = []
        self._resolving: list = []                # the lets being typed (cycle detection)
        self._energy: Optional[str] = None        # the energy being checked, if any
        self.boundary: tuple = ()                 # BcInfo per condition (check/boundary.py)

    def err(self, cls, msg, span, hint=""):
        return cls(msg, span, self.spec.source, self.spec.filename, hint)

    def run(self) -> CheckedSpec:
        for name in self.PASSES:
            getattr(self, name)()
        sc, s = self.scope, self.spec
        checked = CheckedSpec(s, s.name, sc.fields, sc.inputs, sc.dims, sc.params, sc.learns,
                              self.learn_types, sc.lets, self.let_types, sc.energies,
                              sc.equations, sc.graph, self.types, sc.domain, sc.states, sc.nets,
                              tuple(self.head_checks), tuple(self.index_checks),
                              sc.point_fields, dict(self.sheaves), self.boundary,
                              tuple(sc.masks), tuple(sc.series))
        if sc.point_fields:
            check_equivariance(checked)
        return checked

    # ------------------------------------------------------------ the form of a whole spec
    def check_fields(self) -> None:
        """One evolving field at least; hidden states only in a discrete-time model, which
        observes one field."""
        sc, s = self.scope, self.spec
        observed = sc.observed
        if not s.statements:      # nothing to point at: an error about the whole file
            raise self.err(FormError, "the spec is empty (no statements, only blank lines or "
                           "comments)", None, "start with 'model NAME', a field 'field x : "
                           "node[d]' and its equation 'dt(x) = ...'")
        if not observed:
            first = sc.models[0] if sc.models else s.statements[0]
            raise self.err(FormError, "the spec declares no evolving field "
                           "(add e.g. 'field x : node[d]')", first.span)
        if sc.states and not sc.discrete:
            raise self.err(FormError, "a 'state' is a hidden state of a discrete-time model: "
                           "update it with next(...) = ...", sc.decls[sc.states[0]].span)
        if sc.discrete and len(observed) > 1:
            raise self.err(FormError, "a discrete-time model has one observed field (the "
                           "signal it forecasts); declare the others as 'state'",
                           sc.decls[observed[1]].span)

    def type_learnables(self) -> None:
        self.learn_types.update({n: self.learn_type(d) for n, d in self.scope.learns.items()})

    def check_constants(self) -> None:
        """Params are constant number expressions; a learnable's initial value is a number."""
        for p in self.scope.params.values():
            t = self.expr(p.value)
            if t.kind != Kind.SCALAR or self.depends_on_state_or_learn(p.value):
                raise self.err(KindError, f"param '{p.name}' must be a constant number "
                               "expression", p.value.span)
        for d in self.scope.learns.values():
            if isinstance(d.init, A.Name) and d.init.id in INITIALISERS:
                if len(d.shape) != 2 or d.constraints:
                    raise self.err(ShapeError, f"'= {d.init.id}' initialises an unconstrained "
                                   f"matrix, e.g. 'learn {d.name} : [d, d] = {d.init.id}'",
                                   d.init.span)
            elif d.init is not None and self.expr(d.init).kind != Kind.SCALAR:
                raise self.err(KindError, f"the initial value of '{d.name}' must be a number "
                               f"or one of {', '.join(INITIALISERS)}", d.init.span)

    def type_lets(self) -> None:
        for name in self.scope.lets:
            self.let_type(name)

    def check_equations(self) -> None:
        """Each equation updates a declared field with a node value of its channel count."""
        sc = self.scope
        for eq in sc.equations.values():
            if eq.field not in sc.fields:
                kind = type(sc.decls[eq.field]).__name__.replace("Decl", "").lower() \
                    if eq.field in sc.decls else None
                what = f"'{eq.field}' is a {kind}, not a field" if kind else \
                    f"'{eq.field}' is not a declared field"
                raise self.err(FormError, f"{eq.op}(...) needs an evolving field: {what}",
                               eq.field_span, did_you_mean(eq.field, sc.fields))
            ft, rt = sc.fields[eq.field], self.expr(eq.rhs)
            if rt.kind not in ("node", "scalar"):
                raise self.err(KindError, f"the right-hand side of {eq.op}({eq.field}) must be a "
                               f"node field, got {rt.describe()}", eq.rhs.span)
            if rt.channels not in (1, ft.channels):
                raise self.err(ShapeError, f"{eq.op}({eq.field}) has {ft.channels} channel(s) but "
                               f"the right-hand side has {rt.channels}", eq.rhs.span)

    def type_energies(self) -> None:
        for name in self.scope.energies:
            self.energy_type(name)

    def check_complete(self) -> None:
        """Every field and state has its equation."""
        sc = self.scope
        op = "next" if sc.discrete else "dt"
        for f in sc.fields:
            if f not in sc.equations:
                raise self.err(FormError, f"{'state' if f in sc.states else 'field'} '{f}' has "
                               f"no equation {op}({f}) = ...", sc.decls[f].span)


def check(spec: A.Spec) -> CheckedSpec:
    """Resolve names, kinds and shapes of a parsed spec, after merging in its parents
    (``model b extends a``: :func:`pde2gnn.compiler.lang.inherit.resolve`; ``CheckedSpec.spec`` is the
    merged spec).

    Raises:
        NameError_: unknown or duplicate names (with a did-you-mean suggestion); a bad
            ``extends`` / ``override``.
        KindError: e.g. ``div`` applied to a node field, node and edge values mixed.
        ShapeError: channel counts that do not fit.
        FormError: a field without a ``dt`` equation, two equations for one field, ...
    """
    return Checker(resolve(spec)).run()
