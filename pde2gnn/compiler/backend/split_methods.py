"""The split f(t, y) = L y + N(t, y) of a compiled field, as methods of
:class:`~pde2gnn.compiler.backend.module.VectorField` (a base class of it): L y from the
generated ``linear`` (pass ``split``, :mod:`pde2gnn.compiler.passes.split`), N = f - L y, and L
as an operator (:class:`~pde2gnn.compiler.backend.split.SplitOperator`: L^T v, diag(L), its CSR
matrix). Implicit and IMEX methods (:mod:`pde2gnn.integrate`) solve with them.
"""
from __future__ import annotations

from torch import Tensor

from pde2gnn.errors import OptionError


class SplitMethods:
    """Needs ``_split_fn``, ``_split_op``, ``_split_depth``, ``_solve_cache`` and the field's
    graph, inputs and learned values (set by ``VectorField``)."""

    def linear(self, y: Tensor) -> Tensor:
        """L y for y ``[N, D]`` or ``[B, N, D]``: the fused sparse groups whose weights do not
        depend on the state (frozen within one solve; DESIGN.md section 6), on the values of
        the last :meth:`prepare`.

        Raises:
            OptionError: a discrete-time spec (no split).
        """
        if self._split_fn is None:
            raise OptionError(f"'{self.program.ir.name}' is a discrete-time model: it has no "
                              "linear / non-linear split")
        if self._solve_cache is None:
            raise RuntimeError("call prepare(y0) before evaluating the vector field")
        return self._split_fn(y, self.graph, self._input_values, self._learned,
                              self._static_cache, self._solve_cache)

    def rest(self, t: Tensor, y: Tensor) -> Tensor:
        """N(t, y) = f(t, y) - L y, the explicit part of the split (constant for an affine
        field)."""
        return self(t, y) - self.linear(y)

    def split_operator(self):
        """L of the last :meth:`prepare` as a
        :class:`~pde2gnn.compiler.backend.split.SplitOperator` (``apply``, ``apply_t`` = L^T v,
        ``diag()``, ``matrix()``: the scipy CSR matrix where probing it is cheap)."""
        from pde2gnn.compiler.backend.split import SplitOperator
        if self._split_op is None:
            if self._solve_cache is None:
                raise RuntimeError("call prepare(y0) before asking for the split")
            g = self.graph
            self._split_op = SplitOperator(self.linear, g.i.cpu().numpy(), g.j.cpu().numpy(),
                                           g.num_nodes, self.state_width, self._split_depth,
                                           g.deg)
        return self._split_op

    def linear_t(self, v: Tensor) -> Tensor:
        """L^T v (one vector-Jacobian product of :meth:`linear`)."""
        return self.split_operator().apply_t(v)

    def diag(self) -> Tensor:
        """diag(L) ``[N, D]``."""
        return self.split_operator().diag()

    def matrix(self):
        """L as a scipy CSR matrix ``[N D, N D]`` (None where it would be costly to probe)."""
        return self.split_operator().matrix()
