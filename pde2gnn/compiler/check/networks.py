"""Learnable networks: ``net`` declarations (types and sizes from lang/builtins.py) and their
calls.

One of the rule sets of :class:`pde2gnn.compiler.check.checker.Checker`; every method reads and
writes the checker's state (declared names, types, dimensions).
"""
from __future__ import annotations

from typing import Dict

from pde2gnn.errors import ArgumentError, KindError, NameError_, ShapeError, did_you_mean
from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.lang.builtins import NET_TYPES
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.compiler.types import Channels, NetInfo, Type, channel_expr, norm_channels


class NetworkRules:
    # ------------------------------------------------------------ networks
    def net_size(self, e: A.Expr) -> Channels:
        """A network size: a positive integer, a dimension name, or +, -, * of those."""
        if isinstance(e, A.Number):
            if e.value != int(e.value) or e.value < 0:
                raise self.err(ShapeError, "network sizes are non-negative integers", e.span)
            return int(e.value)
        if isinstance(e, A.Name):
            if e.id not in self.scope.dims:
                raise self.err(NameError_, f"network sizes are numbers or dimensions; '{e.id}' "
                               "is not a declared dimension", e.span,
                               did_you_mean(e.id, self.scope.dims) or "declare it: 'dim NAME = SIZE'")
            return e.id
        if isinstance(e, A.BinOp) and e.op in "+-*":
            a, b = channel_expr(self.net_size(e.left)), channel_expr(self.net_size(e.right))
            return norm_channels(a + b if e.op == "+" else a - b if e.op == "-" else a * b)
        raise self.err(ShapeError, "network sizes are integers, dimension names or sums / "
                       "products of those", e.span)

    def check_net(self, st: A.NetDecl) -> NetInfo:
        """``net NAME : TYPE(key=size, ...)`` -> :class:`NetInfo` (see :data:`NET_TYPES`)."""
        if st.kind not in NET_TYPES:
            raise self.err(NameError_, f"unknown network type '{st.kind}' (known: "
                           f"{', '.join(NET_TYPES)})", st.kind_span,
                           did_you_mean(st.kind, NET_TYPES))
        spec = NET_TYPES[st.kind]
        if st.positional:
            raise self.err(ArgumentError, f"{st.kind} sizes are given by name, e.g. "
                           f"{st.kind}({', '.join(k + '=...' for k in spec.required)})",
                           st.positional[0].span)
        allowed = list(spec.required) + list(spec.optional)
        sizes: Dict[str, Channels] = dict(spec.optional)
        seen = set()
        for k, v in st.kwargs:
            if k not in allowed:
                raise self.err(ArgumentError, f"{st.kind} has no size '{k}' (it takes: "
                               f"{', '.join(allowed)})", v.span, did_you_mean(k, allowed))
            if k in seen:
                raise self.err(ArgumentError, f"size '{k}' is given twice", v.span)
            seen.add(k)
            sizes[k] = self.net_size(v)
            if isinstance(sizes[k], int) and sizes[k] < (0 if k == "edge_in" else 1):
                raise self.err(ShapeError, f"size '{k}' must be at least 1", v.span)
            if isinstance(sizes[k], int):
                self.check_size(sizes[k], v.span, "net_size", f"size '{k}'")
        sizes = {k: sizes[k] for k in allowed if k in sizes}
        missing = [k for k in spec.required if k not in seen]
        if missing:
            raise self.err(ArgumentError, f"{st.kind} needs size{'s' if len(missing) > 1 else ''}"
                           f" {', '.join(missing)}: {spec.call}", st.span)
        for k in ("layers", "blocks"):
            if k in sizes and not isinstance(sizes[k], int):
                raise self.err(ShapeError, f"'{k}' must be a number", st.span)
        return NetInfo(st.name, st.kind, sizes)

    def net_call(self, e: A.Call) -> Type:
        """Type of ``net(args)``; argument kinds and channels must fit the declared sizes."""
        net = self.scope.nets[e.func]
        if e.kwargs:
            raise self.err(ArgumentError, f"network '{e.func}' takes positional arguments",
                           e.kwargs[0][1].span)
        ts = [self.expr(a) for a in e.args]
        if net.kind == "edge_gn":
            n = 2 if net.sizes["edge_in"] != 0 else 1
        else:
            n = 1 if net.kind == "mlp" else 2
        if len(ts) != n:
            raise self.err(ArgumentError, f"'{e.func}' ({net.kind}) takes {n} argument"
                           f"{'s' if n > 1 else ''}, got {len(ts)}: {NET_TYPES[net.kind].call}"
                           + (" (edge_in=0: no edge input)" if net.kind == "edge_gn" and n == 1
                              else ""), e.span)
        for a, t in zip(e.args, ts):
            if t.kind not in ("node", "edge"):
                raise self.err(KindError, f"'{e.func}' applies to node or edge values, got "
                               f"{t.describe()}", a.span)

        def need(k, a, t, size, what):
            if norm_channels(channel_expr(t.channels)) != norm_channels(channel_expr(size)):
                raise self.err(ShapeError, f"'{e.func}' expects {what} with {size} channels "
                               f"({k}={size}), got {t.describe()} with {t.channels}", a.span)
        if net.kind == "edge_gn":
            if ts[0].kind != Kind.NODE:
                raise self.err(KindError, f"'{e.func}' (edge_gn) takes node inputs first, got "
                               f"{ts[0].describe()}", e.args[0].span)
            need("in", e.args[0], ts[0], net.sizes["in"], "node inputs")
            if n == 2:
                if ts[1].kind != Kind.EDGE:
                    raise self.err(KindError, f"'{e.func}' (edge_gn) takes edge features "
                                   f"second, got {ts[1].describe()}; e.g. pos_j - pos_i",
                                   e.args[1].span)
                need("edge_in", e.args[1], ts[1], net.sizes["edge_in"], "edge features")
            return Type(Kind.EDGE, (net.out,))
        need("in", e.args[0], ts[0], net.sizes["in"], "an input")
        if net.kind == "gru":
            if ts[0].kind != ts[1].kind:
                raise self.err(KindError, f"'{e.func}' needs input and state of the same kind",
                               e.span)
            need("layers*hidden", e.args[1], ts[1], net.out, "a state")
        return Type(ts[0].kind, (net.out,))
