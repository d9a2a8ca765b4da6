"""A user's own graph for ``simulate --graph-file FILE.npz`` (:func:`load_graph_file`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from torch import Tensor

from pde2gnn.graph import construction as graphs
from pde2gnn.errors import DataError, OptionError


@dataclass
class GraphFile:
    """A graph read from a file.

    Attributes:
        pos: node coordinates ``[N, D]`` float64, or None.
        edge_index: ``[2, E]`` long, torch_geometric convention (row 0 source j, row 1 target i).
        cells: mesh triangles ``[F, 3]`` (node indices), or None.
        num_nodes: N.
        description: for logs.
    """

    pos: Optional[np.ndarray]
    edge_index: Tensor
    cells: Optional[np.ndarray]
    num_nodes: int
    description: str


def load_graph_file(path: str) -> GraphFile:
    """Read ``path`` (``.npz``): ``edge_index`` ``[2, E]`` (integers, used as given: give both
    directions for an undirected graph) and/or ``cells`` ``[F, 3]`` (triangles of a mesh; the
    edges of the triangles, both directions, are added), with optional ``pos`` ``[N, D]`` (node
    coordinates, needed by a spec with a ``domain``) and ``num_nodes`` (else N is the rows of
    ``pos`` or the largest index + 1). Node i is row i of ``pos``: initial conditions, inputs
    and frames use this order.

    Raises:
        OptionError: not an ``.npz`` file. DataError: neither ``edge_index`` nor ``cells``,
            arrays of the wrong shape or type, indices out of range, non-finite coordinates.
    """
    p = Path(path)
    if p.suffix != ".npz" or not p.is_file():
        raise OptionError(f"--graph-file: '{path}' is not an .npz file (arrays edge_index "
                          "[2, E] and/or cells [F, 3], pos [N, D])")
    try:
        z = dict(np.load(p, allow_pickle=False))
    except (ValueError, OSError) as e:
        raise DataError(f"{p}: cannot read the graph file ({e})") from None
    if "edge_index" not in z and "cells" not in z:
        raise DataError(f"{p}: a graph file needs 'edge_index' [2, E] or mesh triangles 'cells' "
                        f"[F, 3]; it holds {', '.join(z) or 'no arrays'}")
    pos = None
    if "pos" in z:
        pos = np.asarray(z["pos"])
        if pos.ndim != 2 or not np.issubdtype(pos.dtype, np.number) or \
                not np.isfinite(pos).all():
            raise DataError(f"{p}: 'pos' must be finite coordinates [N, D], got "
                            f"{list(pos.shape)} {pos.dtype}")
        pos = pos.astype(np.float64)
    ints = {}
    for k, shape in (("edge_index", "[2, E]"), ("cells", "[F, 3]")):
        if k not in z:
            continue
        a = np.asarray(z[k])
        good = a.ndim == 2 and (a.shape[0] == 2 if k == "edge_index" else a.shape[1] == 3)
        if not good or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
            raise DataError(f"{p}: '{k}' must be integer node indices {shape}, got "
                            f"{list(a.shape)} {a.dtype}")
        ints[k] = a.astype(np.int64)
    n = int(z["num_nodes"]) if "num_nodes" in z else len(pos) if pos is not None else \
        max((int(a.max()) + 1 for a in ints.values() if a.size), default=0)
    if pos is not None and len(pos) != n:
        raise DataError(f"{p}: num_nodes is {n} but 'pos' has {len(pos)} rows")
    for k, a in ints.items():
        if a.size and (a.min() < 0 or a.max() >= n):
            raise DataError(f"{p}: '{k}' holds node indices outside 0 .. {n - 1}")
    if n < 1:
        raise DataError(f"{p}: the graph has no nodes")
    import torch
    parts = []
    if "edge_index" in ints:
        parts.append(torch.as_tensor(ints["edge_index"]))
    if "cells" in ints:
        parts.append(graphs.triangle_edges(ints["cells"], n))
    ei = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        from torch_geometric.utils import coalesce
        ei = coalesce(ei, num_nodes=n)
    cells = ints.get("cells")
    what = f"mesh of {len(cells)} triangles" if cells is not None else "graph"
    return GraphFile(pos, ei, cells, n, f"{p.name}: {what}, {n} nodes")
