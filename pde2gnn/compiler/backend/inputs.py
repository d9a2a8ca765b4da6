"""Checks of the data a compiled model is given (graph, inputs), done once at compile time.

Every failure is a :class:`~pde2gnn.errors.DataError` naming the argument and what is wrong,
instead of a torch error (or a silent truncation) deep inside the first evaluation.
"""
from __future__ import annotations

from typing import Dict, Mapping

import numpy as np
import torch
from torch import Tensor

from pde2gnn.errors import DataError


def check_graph_shape(edge_index: Tensor) -> Tensor:
    """``edge_index`` itself after checking its dtype and shape (integer, ``[2, E]``), without
    reading its values (no device synchronisation: cheap on every call).

    Raises:
        DataError: a floating-point, complex or boolean tensor, or not of shape ``[2, E]``.
    """
    ei = edge_index
    if ei.is_floating_point() or ei.is_complex() or ei.dtype == torch.bool:
        raise DataError(f"edge_index must hold integer node indices, got dtype {ei.dtype} "
                        "(convert it with .long() only if the values are whole numbers)")
    if ei.dim() != 2 or ei.shape[0] != 2:
        raise DataError(f"edge_index must have shape [2, E], got {list(ei.shape)}")
    return ei


def check_graph(edge_index, num_nodes, symmetric: bool = False, spec: str = "") -> Tensor:
    """Validate a graph and return ``edge_index`` as a ``[2, E]`` int64 tensor.

    Args:
        edge_index: ``[2, E]`` integer node indices (row 0 source j, row 1 target i).
        num_nodes: N, a positive integer.
        symmetric: require (j, i) in E for every (i, j) in E: the variational derivative
            ``var(E, x)`` of an energy assumes it (see :mod:`pde2gnn.compiler.symbolic.energy`).

    Raises:
        DataError: N not a positive integer; edge_index not an integer ``[2, E]`` tensor, or an
            index outside [0, N); an asymmetric graph where ``symmetric`` is required.
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise DataError(f"num_nodes must be a positive integer (the graph is empty or "
                        f"malformed), got {num_nodes!r}")
    ei = check_graph_shape(torch.as_tensor(edge_index)).long()
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= num_nodes):
        raise DataError(f"edge_index holds node indices from {int(ei.min())} to "
                        f"{int(ei.max())}, outside [0, {num_nodes}) (num_nodes = {num_nodes})")
    if symmetric and ei.numel():
        fwd = torch.unique(ei[0] * num_nodes + ei[1])
        bwd = torch.unique(ei[1] * num_nodes + ei[0])
        if fwd.numel() != bwd.numel() or not torch.equal(fwd, bwd):
            missing = int((~torch.isin(fwd, bwd)).sum())
            raise DataError(f"spec '{spec}' derives its flow from an energy (var), which "
                            f"assumes a symmetric graph, but {missing} edge(s) of the graph have "
                            "no reverse edge: symmetrise it first (torch_geometric.utils."
                            "to_undirected)")
    return ei


def check_inputs(given: Mapping, declared, spec: str) -> None:
    """Reject inputs the spec does not declare, and non-finite values in those it does.

    Raises:
        DataError: an unknown input name, a non-tensor input, or NaN / inf in an input.
    """
    for name, x in given.items():
        if name not in declared:
            raise DataError(f"spec '{spec}' has no input '{name}' (it declares: "
                            f"{', '.join(sorted(declared)) or 'none'})")
        try:
            t = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as e:
            raise DataError(f"input '{name}' is not a tensor: {e}") from None
        if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64, torch.int16,
                                                     torch.int8, torch.uint8)):
            raise DataError(f"input '{name}' must be real numbers, got dtype {t.dtype}")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise DataError(f"input '{name}' contains NaN or inf "
                            f"({int((~torch.isfinite(t)).sum())} value(s))")


def series_value(name: str, value, n: int, c: int):
    """``(values [T, N, c], times [T])`` of a ``node[c] series`` input, given as such a pair
    or a mapping with keys ``values`` and ``times`` (``[T, N]`` is one channel).

    Raises:
        DataError: another form, wrong shapes, non-finite numbers, or times that do not
            increase strictly.
    """
    if isinstance(value, Mapping):
        value = (value.get("values"), value.get("times"))
    if not isinstance(value, (tuple, list)) or len(value) != 2 or value[0] is None \
            or value[1] is None:
        raise DataError(f"input '{name}' is a series: give (values [T, {n}, {c}], times [T]) "
                        "or {'values': ..., 'times': ...}")
    try:
        x, times = (torch.as_tensor(np.asarray(v) if not torch.is_tensor(v) else v)
                    for v in value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise DataError(f"series input '{name}' is not numeric: {e}") from None
    x, times = x.to(torch.get_default_dtype()) if not x.is_floating_point() else x, \
        times.to(torch.float64)
    if x.dim() == 2 and c == 1:
        x = x.unsqueeze(-1)
    T = x.shape[0] if x.dim() == 3 else -1
    if x.dim() != 3 or tuple(x.shape[1:]) != (n, c) or T < 1 or tuple(times.shape) != (T,):
        raise DataError(f"series input '{name}' needs values [T, {n}, {c}] and times [T] "
                        f"(T >= 1), got {list(x.shape)} and {list(times.shape)}")
    if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(times).all())):
        raise DataError(f"series input '{name}' contains NaN or inf")
    if T > 1 and not bool((times[1:] > times[:-1]).all()):
        raise DataError(f"the times of series input '{name}' must increase strictly")
    return x, times


def check_mask(name: str, x: Tensor, n: int) -> None:
    """A ``node mask`` input: N booleans (or 0 / 1 numbers), ``[N]`` or ``[N, 1]``.

    Raises:
        DataError: another length or shape, or values other than 0 and 1.
    """
    if tuple(x.shape) not in ((n,), (n, 1)):
        raise DataError(f"input '{name}' (a node mask) must have one boolean per node, "
                        f"shape [{n}] or [{n}, 1], got {list(x.shape)}")
    if x.dtype != torch.bool and x.numel() and not bool(((x == 0) | (x == 1)).all()):
        raise DataError(f"input '{name}' (a node mask) must hold booleans (or 0 / 1), got "
                        f"values such as {x[(x != 0) & (x != 1)].flatten()[0].item()!r}")


def check_disjoint(conditions, given: Mapping[str, Tensor]) -> None:
    """The Dirichlet masks of one field share no node (each node has one prescribed value).

    Raises:
        DataError: naming the two mask inputs and a shared node.
    """
    seen: Dict[str, list] = {}
    for c in conditions:
        if c.mask is not None and c.kind == "dirichlet" and c.mask in given:
            for other in seen.get(c.field, []):
                both = (given[c.mask] != 0) & (given[other] != 0)
                if bool(both.any()):
                    raise DataError(f"inputs '{other}' and '{c.mask}' (Dirichlet masks of "
                                    f"'{c.field}') share node {int(both.flatten().nonzero()[0])}"
                                    ": a node takes one prescribed value")
            seen.setdefault(c.field, []).append(c.mask)
