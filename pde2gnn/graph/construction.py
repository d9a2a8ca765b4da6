"""Graph construction: regular grids, kNN on points, Delaunay triangulations (geometric specs),
and the rewiring of a spec's ``graph`` clause (BLEND-kNN in positional coordinates).

Every builder returns ``edge_index`` ``[2, E]`` (long, torch_geometric convention, both
directions of every undirected edge, no self-loops) and, where it makes points, coordinates
``pos`` ``[N, D]`` float64 numpy in the domain's length unit.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import coalesce, to_undirected

from pde2gnn.errors import DataError, OptionError


def _undirected(src: np.ndarray, dst: np.ndarray, n: int) -> Tensor:
    ei = torch.as_tensor(np.stack([src, dst]), dtype=torch.long)
    ei = ei[:, ei[0] != ei[1]]
    return coalesce(to_undirected(ei, num_nodes=n), num_nodes=n)


def grid_graph(shape: Sequence[int], low: Sequence[float], high: Sequence[float],
               periodic: bool = False, centring: str = "vertex") -> Tuple[np.ndarray, Tensor]:
    """A regular grid with axis neighbours (2 in 1-D, 4 in 2-D, 6 in 3-D).

    Node ``(k_0, k_1, ...)`` (C order, axis 0 = x slowest) sits at ``low + k * h``; ``h = L / n``
    on a periodic box (the point ``high`` is ``low``) and ``L / (n - 1)`` otherwise (both ends
    included: *vertex-centred*). ``centring="cell"`` puts the nodes at the cell centres
    ``low + (k + 1/2) h``, ``h = L / n`` (*cell-centred*: no node on a wall). Periodic grids wrap
    around.

    Returns:
        pos ``[prod(shape), D]``, edge_index ``[2, E]``.
    """
    shape = tuple(int(s) for s in shape)
    if centring not in ("vertex", "cell"):
        raise OptionError(f"grid centring must be 'vertex' or 'cell', got {centring!r}")
    if len(shape) != len(low) or min(shape) < (3 if periodic else 2):
        raise OptionError(f"grid shape {shape} does not fit a {len(low)}-D domain "
                          f"(at least {3 if periodic else 2} points per axis)")
    if centring == "cell" and not periodic:
        axes = [lo + (hi - lo) * (np.arange(n) + 0.5) / n for n, lo, hi in zip(shape, low, high)]
    else:
        axes = [lo + (hi - lo) * np.arange(n) / (n if periodic else n - 1)
                for n, lo, hi in zip(shape, low, high)]
    pos = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], 1)
    idx = np.arange(pos.shape[0]).reshape(shape)
    src, dst = [], []
    for a, n in enumerate(shape):
        nb = np.roll(idx, -1, axis=a)
        if periodic:
            src.append(idx.ravel())
            dst.append(nb.ravel())
        else:
            keep = [slice(None)] * len(shape)
            keep[a] = slice(0, n - 1)
            src.append(idx[tuple(keep)].ravel())
            dst.append(nb[tuple(keep)].ravel())
    return pos, _undirected(np.concatenate(src), np.concatenate(dst), pos.shape[0])


def random_points(n: int, low: Sequence[float], high: Sequence[float],
                  generator: Optional[np.random.Generator] = None) -> np.ndarray:
    """``n`` points uniform in the box, ``[n, D]`` float64."""
    rng = generator or np.random.default_rng(0)
    low, high = np.asarray(low, float), np.asarray(high, float)
    return low + (high - low) * rng.random((n, len(low)))


def knn_graph(pos: np.ndarray, k: int, low: Optional[Sequence[float]] = None,
              high: Optional[Sequence[float]] = None, periodic: bool = False) -> Tensor:
    """The k-nearest-neighbour graph of points, made symmetric (edge if either is a kNN of the
    other), as in PA-DGN's 4-NN graphs. With ``periodic`` distances wrap around the box
    (scipy ``cKDTree(boxsize=...)``)."""
    from scipy.spatial import cKDTree

    pos = np.asarray(pos, float)
    n = pos.shape[0]
    if not 1 <= k < n:
        raise OptionError(f"k must be between 1 and N - 1 = {n - 1}, got {k}")
    if periodic:
        low, high = np.asarray(low, float), np.asarray(high, float)
        tree = cKDTree(np.mod(pos - low, high - low), boxsize=high - low)
        _, nb = tree.query(np.mod(pos - low, high - low), k + 1)
    else:
        _, nb = cKDTree(pos).query(pos, k + 1)
    src = nb[:, 1:].ravel()
    dst = np.repeat(np.arange(n), k)
    return _undirected(src, dst, n)


def latlon_to_unit(latlon) -> Tensor:
    """Latitude / longitude in degrees ``[N, 2]`` -> points on the unit sphere ``[N, 3]``
    float64: ``(cos phi cos lambda, cos phi sin lambda, sin phi)``."""
    ll = torch.as_tensor(np.asarray(latlon, float), dtype=torch.float64)
    phi, lam = torch.deg2rad(ll[:, 0]), torch.deg2rad(ll[:, 1])
    return torch.stack([phi.cos() * lam.cos(), phi.cos() * lam.sin(), phi.sin()], 1)


def great_circle_knn_graph(latlon, k: int, block: int = 4096) -> Tensor:
    """The symmetric k-nearest-neighbour graph of stations on the sphere by great-circle
    (haversine) distance: an edge wherever one station is among the other's ``k`` nearest.

    The stations are mapped to unit vectors (:func:`latlon_to_unit`) and their neighbours found
    with blocked ``torch.cdist`` + ``topk``: the chordal distance ``2 sin(theta / 2)`` is
    monotone in the central angle ``theta``, so the neighbour sets are those of the haversine
    distance, across the antimeridian and near the poles too (a kNN over raw (lat, lon) degrees
    is not: a degree of longitude shrinks with cos(latitude) and 179.9 is next to -179.9).
    Memory O(block * N).

    Args:
        latlon: ``[N, 2]`` (latitude, longitude) in degrees, latitude in [-90, 90].
        k: neighbours per station, 1 <= k < N.
        block: rows of the distance matrix computed at once.

    Returns:
        ``edge_index [2, E]`` long, both directions of every edge, no self-loops, coalesced.
    Raises:
        OptionError: ``k`` out of range, a latitude outside [-90, 90], a non-finite coordinate,
            or ``latlon`` not ``[N, 2]``.
    """
    ll = np.asarray(latlon, float)
    if ll.ndim != 2 or ll.shape[1] != 2:
        raise OptionError(f"great-circle kNN needs (lat, lon) pairs [N, 2], got {list(ll.shape)}")
    n = ll.shape[0]
    if not 1 <= k < n:
        raise OptionError(f"k must be between 1 and N - 1 = {n - 1}, got {k}")
    if not np.isfinite(ll).all() or np.abs(ll[:, 0]).max() > 90:
        raise OptionError("latitudes must lie in [-90, 90] degrees and every coordinate be "
                          "finite (is the column order lat, lon?)")
    xyz = latlon_to_unit(ll)
    cols = []
    for b0 in range(0, n, block):
        d = torch.cdist(xyz[b0:b0 + block], xyz)
        r = torch.arange(d.shape[0])
        d[r, r + b0] = float("inf")                     # not its own neighbour
        cols.append(d.topk(k, dim=1, largest=False).indices)
    src = torch.cat(cols).reshape(-1).numpy()
    dst = np.repeat(np.arange(n), k)
    return _undirected(src, dst, n)


def delaunay_graph(pos: np.ndarray) -> Tensor:
    """The edges of the Delaunay triangulation of 2-D points ``[N, 2]`` (scipy), both
    directions.

    Raises:
        OptionError: fewer than 3 points (the ``--points`` of ``simulate --graph delaunay``).
        DataError: points that span no triangle (all on one line, or repeated).
    """
    from scipy.spatial import Delaunay, QhullError

    pos = np.asarray(pos, float)
    if pos.ndim != 2 or len(pos) < 3:
        raise OptionError(f"a Delaunay triangulation needs at least 3 points (--points >= 3), "
                          f"got {len(pos) if pos.ndim == 2 else list(pos.shape)}")
    try:
        tri = Delaunay(pos).simplices
    except QhullError:
        raise DataError(f"the {len(pos)} points span no triangle (all on one line or "
                        "repeated): no Delaunay triangulation") from None
    return triangle_edges(tri, len(pos))


def triangle_edges(tri: np.ndarray, n: int) -> Tensor:
    """The edges of the triangles ``tri`` ``[F, 3]`` (node indices) of a mesh on ``n`` nodes,
    both directions, coalesced: ``edge_index [2, E]``."""
    src = np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2]])
    dst = np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0]])
    return _undirected(src, dst, n)


def subgraph_knn(pos: np.ndarray, m: int, k: int, generator: Optional[np.random.Generator] = None
                 ) -> Tuple[np.ndarray, Tensor]:
    """Sample ``m`` of the nodes (without replacement) and build their symmetric kNN graph.

    Returns:
        node_index ``[m]`` (sorted, into the full node set) and the sampled graph's
        edge_index ``[2, E]`` over ``0..m-1``.
    """
    rng = generator or np.random.default_rng(0)
    if not 1 <= m <= len(pos):
        raise OptionError(f"cannot sample {m} of {len(pos)} nodes")
    idx = np.sort(rng.choice(len(pos), m, replace=False))
    return idx, knn_graph(pos[idx], k)


def feature_knn_graph(pos: Tensor, k: int, block: int = 2048, loop: bool = True) -> Tensor:
    """Directed k-nearest-neighbour graph of the rows of ``pos`` ``[N, c]`` (Euclidean), for
    ``graph knn(u, k=...)`` (BLEND-kNN, Chamberlain et al. 2021, section 3.3): node i's
    neighbourhood N(i) is its k nearest nodes in u.

    Computed with blocked ``torch.cdist`` + ``topk`` (memory O(block * N), no compiled
    extensions). Ties are broken by ``topk``.

    Args:
        pos: node coordinates ``[N, c]``.
        k: neighbours per node (including the node itself when ``loop``).
        block: rows of the distance matrix computed at once.
        loop: count the node itself among its neighbours (distance 0).

    Returns:
        ``edge_index [2, N * k]`` in torch_geometric convention: row 0 the neighbour j,
        row 1 the receiving node i; each i has exactly k incoming edges.
    """
    n = pos.shape[0]
    kk = k if loop else k + 1
    if k < 1 or kk > n:
        raise OptionError(f"knn needs 1 <= k <= {n - (0 if loop else 1)} for {n} nodes, got k = {k}")
    pos = pos.detach()
    cols = []
    for b0 in range(0, n, block):
        d = torch.cdist(pos[b0:b0 + block], pos)
        if not loop:
            r = torch.arange(d.shape[0], device=d.device)
            d[r, r + b0] = float("inf")
        cols.append(d.topk(k, dim=1, largest=False).indices)
    j = torch.cat(cols).reshape(-1)
    i = torch.arange(n, device=pos.device).repeat_interleave(k)
    return torch.stack([j, i])


#: NDCN's five graph families (Zang & Wang, KDD 2020, sec. 4.1), all with n = 400 nodes
NDCN_GRAPHS = ("grid8", "random", "powerlaw", "smallworld", "community")
#: the fewest nodes each family's generator accepts (checked before calling networkx)
NDCN_MIN_NODES = {"grid8": 1, "random": 1, "powerlaw": 6, "smallworld": 5, "community": 1}
_WHY_MIN = {"powerlaw": " (Barabási-Albert attaches m = 5 edges per new node: m < n)",
            "smallworld": " (Newman-Watts-Strogatz links k = 5 nearest neighbours: k <= n)"}


def ndcn_graph(name: str, n: int = 400, seed: int = 0) -> Tensor:
    """One of NDCN's benchmark graphs (networkx generators), seeded: ``edge_index [2, E]``.

    - ``grid8``: the sqrt(n) x sqrt(n) grid, every node linked to its 8 neighbours (axis and
      diagonal; not periodic), nodes in row-major order (node ``r * m + c``);
    - ``random``: Erdős-Rényi G(n, p = 0.1);
    - ``powerlaw``: Barabási-Albert preferential attachment, m = 5 edges per new node;
    - ``smallworld``: Newman-Watts-Strogatz, k = 5 nearest neighbours, shortcut p = 0.5;
    - ``community``: random partition graph, blocks n/3, n/3, n/4 and the rest (133 / 133 /
      100 / 34 for n = 400), p_in = 0.25, p_out = 0.01.

    The random families are relabelled so that nodes of one community (Louvain, seeded) are
    consecutive, largest community first and by degree inside it: NDCN's initial state is set on
    blocks of the 20 x 20 layout of the node indices, and its reference code also orders nodes
    by community before doing so (its exact ordering routine is not reproduced).

    Raises:
        OptionError: an unknown family, fewer nodes than the family's generator needs
            (:data:`NDCN_MIN_NODES`: powerlaw 6, smallworld 5, the others 1), or ``grid8``
            with ``n`` not a square.
    """
    import networkx as nx

    if name in NDCN_MIN_NODES and not (isinstance(n, (int, np.integer)) and
                                       n >= NDCN_MIN_NODES[name]):
        raise OptionError(f"graph '{name}' needs --nodes >= {NDCN_MIN_NODES[name]}"
                          f"{_WHY_MIN.get(name, '')}, got {n}")

    if name == "grid8":
        m = int(round(math.sqrt(n)))
        if m * m != n:
            raise OptionError(f"graph 'grid8' needs a square number of nodes, got {n}")
        g = nx.grid_2d_graph(m, m)
        g.add_edges_from(((r, c), (r + 1, c + s)) for r in range(m - 1) for c in range(m)
                         for s in (-1, 1) if 0 <= c + s < m)
        g = nx.relabel_nodes(g, {(r, c): r * m + c for r, c in g.nodes})
    elif name == "random":
        g = nx.erdos_renyi_graph(n, 0.1, seed=seed)
    elif name == "powerlaw":
        g = nx.barabasi_albert_graph(n, 5, seed=seed)
    elif name == "smallworld":
        g = nx.newman_watts_strogatz_graph(n, 5, 0.5, seed=seed)
    elif name == "community":
        sizes = [n // 3, n // 3, n // 4]
        g = nx.random_partition_graph(sizes + [n - sum(sizes)], 0.25, 0.01, seed=seed)
    else:
        raise OptionError(f"unknown NDCN graph '{name}' (choose {', '.join(NDCN_GRAPHS)})")
    if name != "grid8":
        comms = sorted(nx.community.louvain_communities(g, seed=seed), key=len, reverse=True)
        order = [v for c in comms for v in sorted(c, key=lambda v: (-g.degree[v], v))]
        g = nx.relabel_nodes(g, {v: k for k, v in enumerate(order)})
    e = np.array(g.edges, dtype=np.int64).reshape(-1, 2).T
    return _undirected(e[0], e[1], n)


def stochastic_block_model(n: int, blocks: int, degree: float, p_in: float = 0.8,
                           seed: int = 0) -> Tuple[Tensor, Tensor]:
    """A sparse stochastic block model (Holland, Laskey & Leinhardt 1983) in O(N degree):
    every node draws ``degree / 2`` neighbours, each in its own block with probability
    ``p_in`` and uniformly among all nodes otherwise; the edges are made undirected, without
    self-loops or repeats (mean degree about ``degree``). Blocks are assigned at random, so the
    node order carries no locality (as for data that arrive in no particular order).

    Returns:
        edge_index ``[2, E]`` and the block of every node ``[N]`` (long).

    Raises:
        OptionError: fewer than two nodes, no block, a degree below 1 or p_in outside [0, 1].
    """
    if n < 2 or blocks < 1 or degree < 1 or not 0 <= p_in <= 1:
        raise OptionError(f"stochastic block model needs n >= 2, blocks >= 1, degree >= 1 and "
                          f"0 <= p_in <= 1, got {n}, {blocks}, {degree}, {p_in}")
    rng = np.random.default_rng(seed)
    block = rng.integers(blocks, size=n)
    members = np.argsort(block, kind="stable")
    start = np.searchsorted(block[members], np.arange(blocks + 1))
    src = np.repeat(np.arange(n), max(1, int(round(degree / 2))))
    b = block[src]
    inside = rng.random(src.size) < p_in
    size = start[b + 1] - start[b]
    dst = np.where(inside, members[start[b] + (rng.random(src.size) * size).astype(np.int64)],
                   rng.integers(n, size=src.size))
    return _undirected(src, dst, n), torch.as_tensor(block, dtype=torch.long)


def reverse_cuthill_mckee(edge_index: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    """Relabel the nodes in reverse Cuthill-McKee order (Cuthill & McKee 1969; George 1971,
    ``scipy.sparse.csgraph.reverse_cuthill_mckee``), which narrows the band of the adjacency
    matrix so that the gathers of a sparse product read nearby memory.

    Args:
        edge_index: ``[2, E]``; num_nodes: N.

    Returns:
        the relabelled ``edge_index`` ``[2, E]`` and ``order`` ``[N]``: new node k is old node
        ``order[k]`` (so node tensors are reordered by ``x[order]``).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee as rcm
    ei = edge_index.cpu().numpy()
    a = coo_matrix((np.ones(ei.shape[1], dtype=np.int8), (ei[1], ei[0])),
                   shape=(num_nodes, num_nodes)).tocsr()
    order = torch.as_tensor(rcm(a, symmetric_mode=False).astype(np.int64))
    new = torch.empty_like(order)
    new[order] = torch.arange(num_nodes)
    return new.to(edge_index.device)[edge_index], order


def metis_order(edge_index: Tensor, num_nodes: int, part_size: int = 4096
                ) -> Tuple[Tensor, Tensor]:
    """Relabel the nodes part by part of a METIS partition (Karypis & Kumar 1998, through
    ``pymetis``) into ``ceil(N / part_size)`` parts that cut as few edges as METIS can: the
    rows a part's gathers read are then mostly its own, a block of about ``part_size`` nodes
    (cache-sized: 4096 nodes x 64 float32 channels = 1 MiB), numbered consecutively.

    Args:
        edge_index: ``[2, E]`` (read as undirected); num_nodes: N; part_size: nodes per part.

    Returns:
        the relabelled ``edge_index`` ``[2, E]`` and ``order`` ``[N]`` (new node k is old node
        ``order[k]``, as :func:`reverse_cuthill_mckee`).

    Raises:
        OptionError: pymetis is missing (``pip install 'pde2gnn[distributed]'``) or
            ``part_size`` < 1.
    """
    try:
        import pymetis
    except ImportError as e:
        raise OptionError("the METIS order needs pymetis: pip install 'pde2gnn[distributed]'"
                          ) from e
    if part_size < 1:
        raise OptionError(f"metis part_size must be at least 1, got {part_size}")
    from scipy.sparse import coo_matrix
    parts = -(-num_nodes // part_size)
    if parts > 1 and edge_index.numel():
        ei = edge_index.cpu().numpy()
        a = coo_matrix((np.ones(ei.shape[1], dtype=np.int8), (ei[1], ei[0])),
                       shape=(num_nodes, num_nodes))
        a = ((a + a.T) != 0).tocsr()
        a.setdiag(0)
        a.eliminate_zeros()
        _, member = pymetis.part_graph(parts, pymetis.CSRAdjacency(a.indptr, a.indices))
        order = torch.as_tensor(np.argsort(np.asarray(member), kind="stable"), dtype=torch.long)
    else:
        order = torch.arange(num_nodes)
    new = torch.empty_like(order)
    new[order] = torch.arange(num_nodes)
    return new.to(edge_index.device)[edge_index], order


def bandwidth(edge_index: Tensor) -> int:
    """max |i - j| over the edges: the half-bandwidth of the adjacency matrix."""
    return int((edge_index[0] - edge_index[1]).abs().max()) if edge_index.numel() else 0


def complete_graph(n: int, copies: int = 1) -> torch.Tensor:
    """The complete directed graph without self-loops on ``n`` nodes, ``copies`` disjoint copies
    (copy b on nodes b n .. b n + n - 1): ``[2, copies n (n - 1)]``, torch_geometric convention."""
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    off = (np.arange(copies) * n)[:, None]
    return torch.tensor(np.stack([(j + off).ravel(), (i + off).ravel()]), dtype=torch.long)
