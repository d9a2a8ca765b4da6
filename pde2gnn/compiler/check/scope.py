"""The scope of a spec: every name it declares, by kind, built by the declaration pass
(:meth:`pde2gnn.compiler.check.declarations.DeclarationRules.declare_all`) before any other rule runs.

The rule passes read the scope and fill the checker's inferred tables (the types of learnables,
lets, energies and expressions); neither changes the scope, except that a symbolic channel
count met in a shape joins ``dims`` unbound.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from pde2gnn.compiler.lang import ast as A
from pde2gnn.compiler.types import FieldsAndEquations, NetInfo, Type


@dataclass
class Scope(FieldsAndEquations):
    """What a spec declares.

    Attributes:
        decls: name -> its declaration (a domain declares its own name and x, y(, z)).
        dims: dimension name -> size (None: bound at compile time).
        domain: the ``domain`` declaration, or None.
        fields: evolving fields -> type, the observed ones first, then the hidden states
            (the order of the state vector).
        inputs: node / edge inputs -> type (with a domain: its coordinates).
        states: the hidden states (``state h : node[c]``) of a discrete-time model.
        point_fields: fields declared ``coords[n]``.
        nets: ``net`` declarations -> their kind and sizes.
        params, learns, lets, energies: the declarations by name (lets include ``edge``).
        equations: field -> its ``dt`` / ``next`` equation.
        graph: the ``graph`` clause, or None.
        models: the ``model`` declarations (a spec has at most one).
        restrictions: ``id(call)`` of every ``restriction(...)`` that is the value of an
            ``edge`` declaration -> that declaration's name.
    """

    decls: Dict[str, object] = field(default_factory=dict)
    dims: Dict[str, Optional[int]] = field(default_factory=dict)
    domain: Optional[A.DomainDecl] = None
    fields: Dict[str, Type] = field(default_factory=dict)
    inputs: Dict[str, Type] = field(default_factory=dict)
    states: Tuple[str, ...] = ()
    point_fields: Tuple[str, ...] = ()
    nets: Dict[str, NetInfo] = field(default_factory=dict)
    params: Dict[str, A.ParamDecl] = field(default_factory=dict)
    learns: Dict[str, A.LearnDecl] = field(default_factory=dict)
    lets: Dict[str, A.LetDecl] = field(default_factory=dict)
    energies: Dict[str, A.EnergyDecl] = field(default_factory=dict)
    equations: Dict[str, A.Equation] = field(default_factory=dict)
    graph: Optional[A.GraphDecl] = None
    models: Tuple[A.ModelDecl, ...] = ()
    restrictions: Dict[int, str] = field(default_factory=dict)
    #: inputs declared ``node mask`` (boolean node sets for boundary conditions)
    masks: Tuple[str, ...] = ()
    #: inputs declared ``node[c] series`` (values over time, interpolated at t)
    series: Tuple[str, ...] = ()
