"""Graph partitions for a distributed solve: METIS parts and each rank's one-hop halo plan.

A partitioned solve gives every rank (process) a part of the nodes, its *owned* nodes, and the
edges that end at them (``j -> i`` with i owned: everything the rows of the vector field at
the owned nodes read). The sources j of those edges that another rank owns form the rank's
*halo*: before each product that reads neighbours, their values are copied from their owners
(:mod:`pde2gnn.graph.halo`). One hop suffices for any spec, because the exchange happens at
every sparse level of the generated code (``lap(lap(u))`` exchanges ``u``, then ``lap(u)``),
not once per evaluation.

Local node order on a rank: owned *interior* nodes (no halo neighbour) first, then owned
*boundary* nodes, then the halo grouped by owner rank (ascending), each group in ascending
global order. Interior rows come first so that their product can run while the halo values are
in flight (their CSR entries are a prefix of the local matrix).

Partitioning is METIS's multilevel k-way (Karypis & Kumar, SIAM J. Sci. Comput. 20(1), 1998)
through the pymetis binding (``pip install pymetis``, the ``distributed`` extra), on the
symmetrised graph without self-loops; it minimises the edge cut, i.e. the halo volume.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from pde2gnn.errors import OptionError


def metis_parts(i: np.ndarray, j: np.ndarray, num_nodes: int, parts: int,
                seed: int = 0) -> np.ndarray:
    """METIS k-way membership ``[N]`` (values in ``0 .. parts - 1``) of the graph with edges
    ``j -> i`` (``i``, ``j`` ``[E]`` integer arrays; direction and repeats are ignored).

    Raises:
        OptionError: ``parts`` < 1 or > N, or pymetis is not installed.
    """
    if not 1 <= parts <= max(num_nodes, 1):
        raise OptionError(f"--partition must be between 1 and the number of nodes "
                          f"({num_nodes}), got {parts}")
    if parts == 1:
        return np.zeros(num_nodes, dtype=np.int64)
    try:
        import pymetis
    except ImportError:
        raise OptionError("--partition needs pymetis (pip install pymetis, or "
                          "pip install 'pde2gnn[distributed]')") from None
    i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
    keep = i != j
    a, b = np.concatenate([i[keep], j[keep]]), np.concatenate([j[keep], i[keep]])
    key = np.unique(a * num_nodes + b)
    a, b = key // num_nodes, key % num_nodes
    xadj = np.zeros(num_nodes + 1, dtype=np.int64)
    xadj[1:] = np.cumsum(np.bincount(a, minlength=num_nodes))
    opts = pymetis.Options(seed=seed)
    _, membership = pymetis.part_graph(parts, pymetis.CSRAdjacency(xadj, b), options=opts)
    out = np.asarray(membership, dtype=np.int64)
    if len(np.unique(out)) < parts:
        raise OptionError(f"METIS left a part empty ({len(np.unique(out))} of {parts} parts "
                          f"used on {num_nodes} nodes): use fewer parts (--partition)")
    return out


@dataclass
class HaloPlan:
    """What one rank holds and exchanges (all index arrays are int64 numpy arrays).

    Attributes:
        rank, parts: this rank and the number of ranks.
        nodes: global ids of the local nodes ``[N_local]``: owned interior, owned boundary,
            halo (see the module docstring).
        num_owned, num_interior: how many of ``nodes`` are owned / owned interior.
        edges: for each local edge (in the order of :attr:`edge_index`), its position in the
            global CSR order (edges sorted by (i, j)).
        edge_index: ``[2, E_local]`` local ids, row 0 source j, row 1 target i (PyG order).
        recv: ``{peer: count}``: halo rows owned by ``peer``, consecutive in peer order after
            the owned rows.
        send: ``{peer: local ids}``: owned rows that ``peer`` holds as halo, in its order.
    """
    rank: int
    parts: int
    nodes: np.ndarray
    num_owned: int
    num_interior: int
    edges: np.ndarray
    edge_index: np.ndarray
    recv: Dict[int, int]
    send: Dict[int, np.ndarray]

    @property
    def halo_rows(self) -> int:
        """Number of halo nodes (received rows per exchange, per channel)."""
        return int(sum(self.recv.values()))

    @property
    def send_rows(self) -> int:
        """Number of owned rows sent per exchange (per channel)."""
        return int(sum(len(v) for v in self.send.values()))


def _halo(i: np.ndarray, j: np.ndarray, membership: np.ndarray, rank: int) -> np.ndarray:
    """Global ids of rank ``rank``'s halo, sorted by (owner, id)."""
    into = membership[i] == rank
    h = np.unique(j[into & (membership[j] != rank)])
    return h[np.lexsort((h, membership[h]))]


def halo_plans(i: np.ndarray, j: np.ndarray, membership: np.ndarray) -> List[HaloPlan]:
    """The :class:`HaloPlan` of every rank for the graph with CSR-ordered edges ``j -> i``
    (``i``, ``j`` ``[E]``, sorted by (i, j), as :class:`~pde2gnn.compiler.backend.graph_ops.
    GraphOps` holds them) and ``membership [N]`` (:func:`metis_parts`). Every rank computes
    all plans, so the send lists need no communication."""
    i, j, membership = (np.asarray(a, np.int64) for a in (i, j, membership))
    parts = int(membership.max()) + 1 if membership.size else 1
    n = membership.size
    halos = [_halo(i, j, membership, r) for r in range(parts)]
    external = np.zeros(n, dtype=bool)
    external[i[membership[j] != membership[i]]] = True      # an owned node reading a halo
    plans = []
    for r in range(parts):
        owned = np.flatnonzero(membership == r)
        interior = owned[~external[owned]]
        nodes = np.concatenate([interior, owned[external[owned]], halos[r]])
        local = np.full(n, -1, dtype=np.int64)
        local[nodes] = np.arange(nodes.size)
        edges = np.flatnonzero(membership[i] == r)
        recv = {int(p): int(c) for p, c in zip(*np.unique(membership[halos[r]],
                                                           return_counts=True))}
        send = {}
        for p in range(parts):
            if p != r:
                mine = halos[p][membership[halos[p]] == r]
                if mine.size:
                    send[p] = local[mine]
        plans.append(HaloPlan(r, parts, nodes, owned.size, interior.size, edges,
                              np.stack([local[j[edges]], local[i[edges]]]), recv, send))
    return plans
