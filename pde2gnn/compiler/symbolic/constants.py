"""The constant data of a bound spec: what the backend needs besides the equations.

:meth:`pde2gnn.compiler.symbolic.IR.bind` computes one :class:`Constants` from the checked spec, the
dimension sizes and the param values (``ir.constants``), so the backend (the compiled module,
the stepper, the code generator) and the simulator read plain numbers and names, never the
checked AST: every size is an int, every bound and initial value a float.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple, Union

import numpy as np

from pde2gnn.compiler.check import NetInfo, Type
from pde2gnn.compiler.check.sheaf import SheafInfo


@dataclass(frozen=True)
class Box:
    """The domain ``[low_a, high_a]`` per axis, periodic or not (units of the coordinates)."""

    low: Tuple[float, ...]
    high: Tuple[float, ...]
    periodic: bool = False

    @property
    def extent(self) -> np.ndarray:
        return np.asarray(self.high, float) - np.asarray(self.low, float)

    @property
    def dim(self) -> int:
        return len(self.low)

    def displacement(self, pos: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """``p_j - p_i`` ``[E, D]``; on a periodic box the shortest image."""
        d = pos[j] - pos[i]
        if self.periodic:
            L = self.extent
            d = d - L * np.round(d / L)
        return d


@dataclass(frozen=True)
class Domain:
    """A ``domain NAME : [lo, hi] x ... [periodic] [scheme=...]`` declaration, evaluated.

    ``name`` is the coordinates input (``pos``, ``[N, D]``), ``coordinates`` the per-axis
    inputs it provides (``('x', 'y')``), ``scheme`` the stencil scheme (``auto`` when not
    given)."""

    name: str
    box: Box
    scheme: str = "auto"
    coordinates: Tuple[str, ...] = ()


@dataclass(frozen=True)
class LearnInfo:
    """A ``learn`` declaration: its tensor shape (``()`` for a scalar, ``(c,)`` a vector,
    ``(rows, cols)`` a matrix), its initial value (a number, a named initialiser of
    :data:`pde2gnn.compiler.lang.builtins.INITIALISERS` such as ``'eye'``, or None: the default
    initialisation) and its constraint names (``positive``, ``sym``, ...), in declaration
    order."""

    shape: Tuple[int, ...]
    init: Union[float, str, None]
    constraints: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Constants:
    """The declarations of a spec with dimensions and params bound (see the module docstring).

    Attributes:
        fields: ``{name: Type}`` of the fields and states, in declaration order, channels ints.
        states: the hidden states of a discrete-time model (fields not observed).
        point_fields: the ``coords[n]`` fields (point coordinates, as in
            ``library/nbody_charged.pde``).
        inputs: ``{name: Type}`` of every input (``node[c]`` / ``edge[c]``, c an int); with a
            domain also its coordinates (``pos`` ``node[D]``, ``x``, ``y``... ``node[1]``).
        domain: the evaluated domain, None without one.
        learnables: ``{name: LearnInfo}`` in declaration order.
        nets: ``{name: NetInfo}`` of the ``net`` declarations, sizes ints.
        sheaves: ``{name: SheafInfo}`` of the ``restriction`` declarations, d and k ints.
        energies: True when the spec derives a flow from an energy (``var``), which needs a
            symmetric graph.
        masks: the ``node mask`` inputs (booleans per node, for boundary conditions).
    """

    fields: Dict[str, Type] = field(default_factory=dict)
    states: Tuple[str, ...] = ()
    point_fields: Tuple[str, ...] = ()
    inputs: Dict[str, Type] = field(default_factory=dict)
    domain: Optional[Domain] = None
    learnables: Dict[str, LearnInfo] = field(default_factory=dict)
    nets: Dict[str, NetInfo] = field(default_factory=dict)
    sheaves: Dict[str, SheafInfo] = field(default_factory=dict)
    energies: bool = False
    #: inputs declared ``node mask`` (boolean node sets of boundary conditions)
    masks: Tuple[str, ...] = ()
    #: inputs declared ``node[c] series``: values [T, N, c] at times [T], linear in t between
    #: them (:meth:`pde2gnn.compiler.backend.graph_ops.GraphOps.series_at`)
    series: Tuple[str, ...] = ()

    @property
    def observed(self) -> Tuple[str, ...]:
        """The fields that are not hidden states (a discrete-time model has exactly one)."""
        return tuple(f for f in self.fields if f not in self.states)

    @property
    def data_inputs(self) -> Tuple[str, ...]:
        """The inputs a caller passes besides the domain's coordinates (``x``, ``y``...,
        which come from the coordinates input)."""
        coords = self.domain.coordinates if self.domain else ()
        return tuple(n for n in self.inputs if n not in coords)
