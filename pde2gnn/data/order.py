"""A node order with locality for large graphs (issue 40; docs/guide/large-graphs.md "Node
order"): the nodes relabelled part by part of a METIS partition, so that the random reads of
the sparse products and SDDMMs of a solve stay mostly inside one part's block of rows.

``TrainConfig.node_order`` chooses it for node classification: ``"given"`` keeps the data
set's order, ``"metis"`` relabels, ``"auto"`` (the default) relabels graphs of at least
:data:`AUTO_NODES` nodes when ``pymetis`` is installed. Node classification's metrics
(accuracies, losses) do not depend on the node order; the relabelled run computes the same
numbers up to the order of floating-point sums (``tests/data/test_order.py``).
"""
from __future__ import annotations

import logging
from typing import Optional, Tuple

import torch
from torch import Tensor

from pde2gnn.errors import OptionError

log = logging.getLogger("pde2gnn")

#: ``node_order = "auto"`` relabels graphs of at least this many nodes. A GRAND-l training
#: epoch (64 channels, rk4) on a stochastic block model took 0.63-0.85x the CPU time of the
#: random order in METIS part order at 10^5 nodes and 0.53-0.87x at 10^6 (three rounds under
#: varying load; benchmarks/csr_epoch.py, docs/guide/large-graphs.md); smaller graphs' states
#: fit the caches in any order.
AUTO_NODES = 100_000

#: nodes per METIS part: 16384 rows of 64 float32 channels are 4 MiB, this machine's L2 (2 x 2
#: MiB); 4096 and 10^4 measured about the same at 10^5 nodes (docs/guide/large-graphs.md)
PART_SIZE = 16384

CHOICES = ("auto", "given", "metis")


def _has_pymetis() -> bool:
    try:
        import pymetis  # noqa: F401
    except ImportError:
        return False
    return True


def wants_metis(choice: str, num_nodes: int) -> bool:
    """Whether ``choice`` (``TrainConfig.node_order``) relabels a graph of ``num_nodes`` nodes.

    Raises:
        OptionError: an unknown choice, or ``"metis"`` without pymetis.
    """
    if choice not in CHOICES:
        raise OptionError(f"node_order must be one of {', '.join(CHOICES)}, got {choice!r}")
    if choice == "given" or (choice == "auto" and num_nodes < AUTO_NODES):
        return False
    if _has_pymetis():
        return True
    if choice == "metis":
        raise OptionError("node_order = 'metis' needs pymetis: pip install "
                          "'pde2gnn[distributed]'")
    log.info("node_order auto: %d nodes, but pymetis is missing: the given order is kept",
             num_nodes)
    return False


#: the last graph relabelled, ``(num_nodes, part_size) -> (edge_index, order)``: the runs of one
#: experiment (its seeds and splits) share the graph, so METIS runs once per experiment
_LAST: dict = {}


def metis_relabel(data, part_size: int = PART_SIZE) -> Tuple[object, Tensor]:
    """``data`` (a torch_geometric ``Data``: ``edge_index [2, E]``, node attributes ``[N, ...]``)
    with its nodes relabelled in METIS part order
    (:func:`pde2gnn.graph.construction.metis_order`, parts of ``part_size`` nodes).

    Returns:
        the relabelled ``Data`` (``Data.subgraph(order)``: every node attribute indexed by
        ``order``, edges renumbered, the edge order and edge attributes kept) and ``order``
        ``[N]`` (long): new node k is old node ``order[k]``; a node tensor ``z`` of the
        relabelled graph is ``z_old[order]``, and ``z_old[order] = z`` maps it back.

    Raises:
        OptionError: pymetis missing or ``part_size`` < 1 (from ``metis_order``).
    """
    from pde2gnn.graph.construction import metis_order
    ei, key = data.edge_index, (data.num_nodes, part_size)
    hit = _LAST.get(key)
    if hit is not None and hit[0].shape == ei.shape and torch.equal(hit[0], ei):
        order = hit[1]
    else:
        _, order = metis_order(ei, data.num_nodes, part_size)
        _LAST.clear()
        _LAST[key] = (ei, order)
    return data.subgraph(order), order


def node_order(data, choice: str, part_size: int = PART_SIZE) -> Tuple[object, Optional[Tensor]]:
    """``(data, None)`` where ``choice`` keeps the order (:func:`wants_metis`), else
    :func:`metis_relabel`'s ``(relabelled data, order)``; the choice is logged."""
    if not wants_metis(choice, data.num_nodes):
        return data, None
    log.info("node_order %s: %d nodes relabelled in METIS part order (parts of %d nodes)",
             choice, data.num_nodes, part_size)
    return metis_relabel(data, part_size)
