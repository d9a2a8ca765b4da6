"""Energies: scalars built with sum_i / sum_ij, what may appear in them, and var(E, x).

One of the rule sets of :class:`pde2gnn.compiler.check.checker.Checker`; every method reads and
writes the checker's state (declared names, types, dimensions).
"""
from __future__ import annotations

from pde2gnn.errors import (ArgumentError, EnergyError, FormError, KindError, ShapeError,
                            did_you_mean)
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import BUILTINS, EDGE_BUILTINS, Always
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.types import SCALAR, Type, endpoint, subexpressions


class EnergyRules:
    def energy_type(self, name: str) -> Type:
        """Check ``energy NAME = expr``: a one-channel scalar built with sum_i / sum_ij."""
        if name in self._energy_types:
            return self._energy_types[name]
        d = self.scope.energies[name]
        outer = self._energy
        self._energy = name
        try:
            t = self.expr(d.value)
        finally:
            self._energy = outer
        if t.kind != Kind.SCALAR or t.channels != 1:
            raise self.err(EnergyError, f"energy '{name}' must be a scalar, got {t.describe()}; "
                           "sum node terms with sum_i(...) and edge terms with sum_ij(...), and "
                           "reduce channels with dot(...)", d.value.span)
        self._energy_types[name] = t
        return t

    def _depends_on_field(self, e: A.Expr, seen=()) -> bool:
        """Whether ``e`` mentions an evolving field (x, x_i, x_j), directly or through lets."""
        for x in subexpressions(e):
            if not isinstance(x, A.Name):
                continue
            base = endpoint(x.id)[0] if endpoint(x.id) else x.id
            if base in self.scope.fields or (base in self.scope.lets and base not in seen and
                                       self._depends_on_field(self.scope.lets[base].value,
                                                              seen + (base,))):
                return True
        return False

    def _only_receiver(self, e: A.Expr):
        """sum_i(...) of an edge-kind expression may only use receiver values x_i."""
        for x in subexpressions(e):
            if isinstance(x, A.Name):
                ep = endpoint(x.id)
                if x.id in EDGE_BUILTINS or (ep and ep[1] == "j") or (
                        x.id in self.scope.lets and self.let_type(x.id).kind == Kind.EDGE):
                    raise self.err(KindError, f"sum_i sums over nodes, but '{x.id}' is an edge "
                                   "value; use sum_ij(...) for sums over edges", x.span)
            elif isinstance(x, A.Call) and x.func in BUILTINS and (
                    BUILTINS[x.func].gives == Kind.EDGE or BUILTINS[x.func].gives is None
                    and BUILTINS[x.func].takes == Kind.EDGE):      # grad, softmax_j, ...
                raise self.err(KindError, f"sum_i sums over nodes, but {x.func}(...) is an edge "
                               "value; use sum_ij(...) for sums over edges", x.span)

    def energy_use(self, e: A.Call, b) -> None:
        """Built-in ``e`` (row ``b``) inside an energy: var(...) differentiates it by its row's
        ``derivative``. An operator whose row gives a reason it cannot (``energy``) is refused
        where an evolving field passes through it (applied to inputs, params and coordinates
        only it is a constant of var, as ``dx(a)`` of an input ``a``), and everywhere if the
        reason is an :class:`~pde2gnn.compiler.lang.builtins.Always`.

        Raises:
            EnergyError: "<name> <reason>, so energy 'E' cannot be differentiated", located at
                the operator.
            UnsupportedError: a field passes through a row that declares neither.
        """
        through = any(self._depends_on_field(a) for a in e.args)
        if b.energy and (through or isinstance(b.energy, Always)):
            raise self.err(EnergyError, f"{b.name} {b.energy}, so energy '{self._energy}' "
                           "cannot be differentiated by var(...)", e.func_span,
                           "" if isinstance(b.energy, Always) else
                           f"{b.name} may apply to inputs, params and coordinates only")
        if through and not b.energy:
            self.row_rule(b, "derivative", e.func_span)

    def energy_call(self, e: A.Call) -> Type:
        """sum_i(node) / sum_ij(edge) -> scalar inside energies; var(E, x) -> x's type."""
        f = e.func
        nargs = 2 if f == "var" else 1
        if len(e.args) != nargs or e.kwargs:
            raise self.err(ArgumentError, f"{f} takes {nargs} argument{'s' if nargs > 1 else ''}, "
                           f"got {len(e.args) + len(e.kwargs)}", e.span)
        if f == "var":
            en, x = e.args
            if not (isinstance(en, A.Name) and en.id in self.scope.energies):
                raise self.err(KindError, "var(E, x) takes a declared energy as its first "
                               "argument", en.span, did_you_mean(getattr(en, "id", ""),
                                                                 self.scope.energies))
            if not (isinstance(x, A.Name) and x.id in self.scope.fields):
                raise self.err(KindError, "var(E, x) differentiates with respect to an evolving "
                               "field, given by name", x.span,
                               did_you_mean(getattr(x, "id", ""), self.scope.fields))
            if self._energy is not None:
                raise self.err(EnergyError, "var(...) cannot be used inside an energy", e.span)
            self.energy_type(en.id)
            return self.scope.fields[x.id]
        if self._energy is None:
            raise self.err(FormError, f"{f}(...) is a sum over the whole graph and may only be "
                           "used in an energy", e.func_span)
        t = self.expr(e.args[0])
        if f == "sum_i":
            if t.kind == Kind.EDGE:
                self._only_receiver(e.args[0])
            elif t.kind != Kind.NODE:
                raise self.err(KindError, f"sum_i expects a node value, got {t.describe()}",
                               e.args[0].span)
        elif t.kind != Kind.EDGE:
            raise self.err(KindError, f"sum_ij expects an edge value, got {t.describe()}"
                           + ("; use sum_i for node values" if t.kind == Kind.NODE else ""),
                           e.args[0].span)
        if t.channels != 1:
            raise self.err(ShapeError, f"{f} sums a one-channel value, got {t.describe()}; "
                           "reduce channels with dot(...) or norm(...)", e.args[0].span)
        return SCALAR
