"""Static weights of the geometric stencils, computed once per graph from the node coordinates.

Every operator is ``(L f)_i = sum_j W_ij (f_j - f_i)`` on the graph's edges (i receiving,
j neighbour), so it annihilates constants and fuses into one sparse matrix
(:mod:`pde2gnn.compiler.discretize.stencil`). Coordinates ``pos`` are ``[N, D]`` (D = 2 or 3) in the
spec's length unit; a derivative weight has unit 1/length, a Laplacian weight 1/length^2.
Weights are computed in float64 numpy, ``[E]`` in the edge order given (CSR order in practice).

Schemes:

``grid``  regular grid (axis-aligned neighbours at spacing h_a along axis a). Central
          differences ``(f_{+} - f_{-}) / (2 h)`` and ``(f_{+} - 2 f + f_{-}) / h^2`` per axis:
          PA-DGN (Seo et al., ICLR 2020) eq. (7), second order. A node with one neighbour on an
          axis is on a zero-flux (Neumann) boundary: mirror ghost node f_{-1} = f_{+1}, so the
          derivative is 0 and the Laplacian weight is 2 / h^2. Periodic grids wrap (``periodic``).
``lsq``   scattered points: the gradient is the weighted least-squares fit of
          ``f_j - f_i = g . d_ij`` (weights 1/|d|^2; exact on linear functions, first order); the
          Laplacian is the trace of the Hessian of the quadratic fit
          ``f_j - f_i = g . d + 1/2 d^T H d`` (exact on quadratics where the neighbourhood
          determines them: >= 5 neighbours in 2-D, >= 9 in 3-D, else a minimum-norm fit).
``mesh``  a triangulation, 2-D: the mesh's own triangles where given (``cells``, e.g.
          ``simulate --graph-file``), else the Delaunay triangulation of the points (scipy). The
          cotangent Laplacian
          ``1/A_i sum_j (cot a_ij + cot b_ij) / 2 (f_j - f_i)`` with the barycentric area A_i
          (zero on linear functions at interior nodes), and the gradient as the area-weighted
          mean of the per-triangle gradients of the linear interpolant (exact on linear
          functions). The graph must contain the triangulation's edges
          (:func:`pde2gnn.graph.construction.delaunay_graph`); other edges get weight 0.
``auto``  ``grid`` if the graph is a regular grid, else ``lsq``.

``dgrad`` is scheme independent: ``1 / |p_j - p_i|``.
"""
from __future__ import annotations

from typing import Dict, Iterable, NamedTuple, Optional, Tuple

import numpy as np

from pde2gnn.compiler.check import (SCHEMES)  # noqa: F401  (the names the language accepts, re-exported)
from pde2gnn.errors import DataError
from pde2gnn.compiler.symbolic.constants import Box

AXES = {"geo_dx": 0, "geo_dy": 1, "geo_dz": 2}


class GridInfo(NamedTuple):
    """The structure of a regular grid graph: per edge its axis ``[E]`` and the sign of its
    displacement along it ``[E]``, the spacing per axis ``h [D]``, the neighbour count per
    node and axis ``count [N, D]`` (2 inside, 1 at a wall) and the centring per axis
    (``vertex``: outermost nodes on the walls, ``cell``: half a cell inside, ``periodic``)."""

    axis: np.ndarray
    sign: np.ndarray
    h: np.ndarray
    count: np.ndarray
    centring: Tuple[str, ...]


def grid_structure(d: np.ndarray, i: np.ndarray, n: int, strict: bool = True,
                   pos: Optional[np.ndarray] = None, box: Optional[Box] = None,
                   name: str = "pos") -> Optional[GridInfo]:
    """The :class:`GridInfo` of a regular grid graph, or None (``strict``: a DataError) if the
    graph is not one. With ``pos`` and a non-periodic ``box`` the centring of each axis is read
    from the positions: the outermost nodes on the walls (vertex-centred) or h/2 inside them
    (cell-centred); anything else is a DataError, since the zero-flux and boundary stencils of
    the two differ.

    Args:
        d: displacements ``[E, D]``; i: receiving node of each edge ``[E]``; n: N.
    """
    E, D = d.shape
    ad = np.abs(d)
    axis = np.argmax(ad, axis=1)
    major = ad[np.arange(E), axis]
    minor = np.delete(ad, 0, axis=1) if D == 1 else np.sort(ad, axis=1)[:, :-1]
    reason = None
    h = np.zeros(D)
    if E == 0 or (major <= 0).any():
        reason = "it has repeated points or no edges"
    elif D > 1 and (minor.max(axis=1) > 1e-5 * major).any():
        reason = "some edges are not axis-aligned"
    else:
        for a in range(D):
            sel = axis == a
            if not sel.any():
                reason = f"no edges along axis {a}"
                break
            h[a] = major[sel].min()
            if np.abs(major[sel] - h[a]).max() > 1e-5 * h[a]:
                reason = f"edges along axis {a} have different lengths"
                break
    sign = np.sign(d[np.arange(E), axis])
    if reason is None:
        for s in (1, -1):
            for a in range(D):
                cnt = np.bincount(i[(axis == a) & (sign == s)], minlength=n)
                if cnt.max() > 1:
                    reason = "a node has two neighbours on the same side"
        if reason is None:
            both = [np.bincount(i[axis == a], minlength=n) for a in range(D)]
            if min(b.min() for b in both) == 0:
                reason = "a node has no neighbour along some axis"
    if reason is not None:
        if strict:
            raise DataError(f"scheme 'grid' needs a regular grid graph, but {reason}: use "
                            "pde2gnn.graph.construction.grid_graph or scheme lsq")
        return None
    count = np.stack([np.bincount(i[axis == a], minlength=n) for a in range(D)], 1)  # [N, D]
    centring = []
    for a in range(D):
        if box is None or pos is None or box.periodic:
            centring.append("periodic" if box is not None and box.periodic else "vertex")
            continue
        off = np.array([pos[:, a].min() - box.low[a], box.high[a] - pos[:, a].max()])
        if np.abs(off).max() <= 1e-6 * h[a]:
            centring.append("vertex")
        elif np.abs(off - h[a] / 2).max() <= 1e-6 * h[a]:
            centring.append("cell")
        else:
            axis_name = "xyz"[a] if D <= 3 else str(a)
            raise DataError(
                f"scheme 'grid' assumes vertex-centred nodes (the outermost nodes on the walls "
                f"{axis_name} = {box.low[a]:g} and {box.high[a]:g}) or cell-centred nodes (half a "
                f"cell, h/2 = {h[a] / 2:g}, inside them); along {axis_name} the outermost nodes "
                f"are {off[0]:g} and {off[1]:g} inside the walls (coordinates '{name}'): give "
                "positions that fit the domain, or the domain's bounds that fit the grid")
    return GridInfo(axis, sign, h, count, tuple(centring))


def grid_weights(d: np.ndarray, i: np.ndarray, n: int, ops: Iterable[str],
                 strict: bool = True, pos: Optional[np.ndarray] = None,
                 box: Optional[Box] = None, name: str = "pos"
                 ) -> Optional[Dict[str, np.ndarray]]:
    """Central-difference weights on a regular grid graph (see module docstring).

    Args:
        d: displacements ``[E, D]``; i: receiving node of each edge ``[E]``; n: N.
        ops: weight names wanted (``geo_dx``, ``geo_dy``, ``geo_dz``, ``geo_lap``).
        strict: raise :class:`DataError` if the graph is not a regular grid; else return None.
        pos, box: positions ``[N, D]`` and the domain, to tell vertex- from cell-centred grids
            (:func:`grid_structure`); without them the grid is taken as vertex-centred.
    """
    g = grid_structure(d, i, n, strict, pos, box, name)
    if g is None:
        return None
    axis, sign = g.axis, g.sign
    c = g.count[i, axis]                       # 2: interior, 1: zero-flux boundary
    cell = np.array([z == "cell" for z in g.centring])[axis]
    ha = g.h[axis]
    out = {}
    for name in ops:
        if name == "geo_lap":
            # zero flux: mirror ghost (vertex-centred, 2 / h^2) or a zero face flux (cell, 1 / h^2)
            out[name] = np.where((c == 2) | cell, 1.0, 2.0) / ha ** 2
        elif name in AXES:
            # at a wall: 0 (vertex: du/dn = 0 there), one-sided (u_nb - u) / (2h) (cell)
            out[name] = np.where((axis == AXES[name]) & ((c == 2) | cell), sign / (2 * ha), 0.0)
    return out


def _batched_lsq(d: np.ndarray, i: np.ndarray, n: int, basis, extra=None):
    """Per node i, the weighted least-squares solution operator of ``basis(d_ij) c = f_j - f_i``.

    Returns ``[E, m]``: the coefficient vector is ``sum_j out[e] (f_j - f_i)``. Local length
    scale ``s_i`` (mean |d|) is divided out for conditioning; weights are ``1 / |d|^2``.
    ``extra = (nodes [K], rows [K, m])`` adds one row per entry to its node's system, a
    condition ``rows[k] . c = q_k`` on the derivatives at the node (the boundary rows of a
    Neumann condition, rows in units of the basis' first-order columns, weight 1); then
    ``(coef [E, m], coef_extra [K, m])`` are returned, the coefficients of ``q_k`` second.
    """
    E = len(i)
    r = np.linalg.norm(d, axis=1)
    deg = np.bincount(i, minlength=n)
    s = np.bincount(i, weights=r, minlength=n) / np.maximum(deg, 1)
    dn = d / s[i, None]
    sw = s[i] / r                                   # sqrt of the weight 1/|d|^2, scaled
    order = np.argsort(i, kind="stable")
    start = np.concatenate([[0], np.cumsum(deg)])
    slot = np.empty(E, int)
    slot[order] = np.arange(E) - start[i[order]]
    B, powers = basis(dn)                            # [E, m], length power of each column
    xn = np.asarray(extra[0], int) if extra is not None else np.zeros(0, int)
    xcount = np.bincount(xn, minlength=n)
    xslot = xn
    if len(xn):   # rank of each extra row among its node's (xn need not be sorted)
        order_x = np.argsort(xn, kind="stable")
        first = np.concatenate([[0], np.cumsum(xcount)])[xn[order_x]]
        xslot = np.empty(len(xn), int)
        xslot[order_x] = deg[xn[order_x]] + np.arange(len(xn)) - first
    M = np.zeros((n, max(int((deg + xcount).max()), 1), B.shape[1]))
    M[i, slot] = B * sw[:, None]
    if len(xn):
        M[xn, xslot] = extra[1]
    P = np.linalg.pinv(M)                            # [N, m, K]
    coef = P[i, :, slot] * sw[:, None] / s[i, None] ** powers     # [E, m]
    if extra is None:
        return coef
    return coef, P[xn, :, xslot] * s[xn, None] / s[xn, None] ** powers


def lsq_weights(d: np.ndarray, i: np.ndarray, n: int, ops: Iterable[str]) -> Dict[str, np.ndarray]:
    """Least-squares gradient (linear fit) and Laplacian (quadratic fit); module docstring."""
    ops = list(ops)
    D = d.shape[1]
    out = {}
    if any(o in AXES for o in ops):
        coef = _batched_lsq(d, i, n, lambda x: (x, np.ones(D)))
        for o in ops:
            if o in AXES:
                out[o] = coef[:, AXES[o]]
    if "geo_lap" in ops:
        pairs = [(a, b) for a in range(D) for b in range(a + 1, D)]

        def quad(x):
            cols = [x, 0.5 * x ** 2] + [x[:, [a]] * x[:, [b]] for a, b in pairs]
            return np.concatenate(cols, 1), np.array([1] * D + [2] * D + [2] * len(pairs))
        coef = _batched_lsq(d, i, n, quad)
        out["geo_lap"] = coef[:, D:2 * D].sum(1)
    return out


def mesh_weights(pos: np.ndarray, i: np.ndarray, j: np.ndarray, ops: Iterable[str],
                 cells: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
    """Cotangent Laplacian and area-weighted gradient on a triangulation (2-D): the mesh's own
    triangles ``cells`` ``[F, 3]`` (either orientation), else the Delaunay triangulation of the
    points (scipy).

    Raises:
        DataError: not 2-D, a triangle of zero area, or a triangle edge missing from the graph.
    """
    from scipy.spatial import Delaunay

    n, D = pos.shape
    if D != 2:
        raise DataError(f"scheme 'mesh' is 2-D only; the domain has {D} axes (use lsq)")
    tri = Delaunay(pos).simplices if cells is None else np.asarray(cells, np.int64)  # [T, 3]
    p = pos[tri]                                      # [T, 3, 2]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]  # twice the signed area
    if cells is not None and (area2 == 0).any():
        raise DataError(f"mesh triangle {int(np.flatnonzero(area2 == 0)[0])} of the cells has "
                        "zero area (repeated or collinear corners)")
    keys = i.astype(np.int64) * n + j
    korder = np.argsort(keys)

    def edge_id(a, b):
        k = a.astype(np.int64) * n + b
        pos_ = np.searchsorted(keys[korder], k)
        pos_ = np.minimum(pos_, len(keys) - 1)
        found = keys[korder][pos_] == k
        if not found.all():
            which = "triangle" if cells is not None else "Delaunay"
            raise DataError(f"scheme 'mesh' needs the {which} edges in the graph "
                            f"({int((~found).sum())} missing): build it with "
                            "pde2gnn.graph.construction.delaunay_graph (or triangle_edges of the cells)")
        return korder[pos_]

    out = {o: np.zeros(len(i)) for o in ops if o in ("geo_lap", "geo_dx", "geo_dy")}
    vert_area = np.bincount(tri.ravel(), weights=np.repeat(np.abs(area2) / 6, 3), minlength=n)
    for k in range(3):
        a, b, c = tri[:, k], tri[:, (k + 1) % 3], tri[:, (k + 2) % 3]
        if "geo_lap" in out:   # angle at a is opposite the edge (b, c)
            u, v = pos[b] - pos[a], pos[c] - pos[a]
            cot = (u * v).sum(1) / np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
            for s, t in ((b, c), (c, b)):
                np.add.at(out["geo_lap"], edge_id(s, t), 0.5 * cot / vert_area[s])
        if "geo_dx" in out or "geo_dy" in out:
            # gradient of the hat function of a on the triangle: rot90(p_c - p_b) / (2 A)
            g = (pos[c] - pos[b])[:, ::-1] * np.array([-1.0, 1.0]) / area2[:, None]
            w = np.abs(area2) / 2
            for s in (b, c):       # contributes g * (f_a - f_s) to node s
                tot = np.bincount(tri.ravel(), weights=np.repeat(w, 3), minlength=n)
                e = edge_id(s, a)
                for name, ax in (("geo_dx", 0), ("geo_dy", 1)):
                    if name in out:
                        np.add.at(out[name], e, w * g[:, ax] / tot[s])
    return out


def check_inside(pos: np.ndarray, box: Box, require: bool = True, name: str = "coordinates"
                 ) -> None:
    """Positions ``[N, D]`` inside the domain (tolerance 1e-9 of its extent).

    Raises:
        DataError: (when ``require``) a node outside ``box``, naming the input and the bounds.
    """
    if not require or len(pos) == 0:
        return
    lo, hi = np.asarray(box.low), np.asarray(box.high)
    tol = 1e-9 * box.extent
    bad = ((pos < lo - tol) | (pos > hi + tol)).any(axis=1)
    if bad.any():
        k = int(np.argmax(bad))
        bounds = " x ".join(f"[{a:g}, {b:g}]" for a, b in zip(lo, hi))
        raise DataError(f"{bad.sum()} node position(s) of coordinates '{name}' lie outside the "
                        f"{'periodic ' if box.periodic else ''}domain {bounds}, e.g. node {k} "
                        f"at {np.array2string(pos[k], precision=6)}: give positions in the "
                        "domain (a periodic one is not wrapped silently)")


def geometric_weights(pos: np.ndarray, i: np.ndarray, j: np.ndarray, box: Box, scheme: str,
                      ops: Iterable[str], name: str = "coordinates",
                      cells: Optional[np.ndarray] = None
                      ) -> Tuple[Dict[str, np.ndarray], str]:
    """All requested static weights ``{name: [E]}`` and the scheme actually used.

    Args:
        pos: coordinates ``[N, D]``; i, j: receiving node and neighbour of each edge ``[E]``.
        box: the domain (extent, periodicity); scheme: one of :data:`SCHEMES`; name: the
            coordinates input (messages).
        ops: weight names (``geo_dx``, ``geo_dy``, ``geo_dz``, ``geo_lap``, ``geo_dgrad``).
        cells: the mesh's own triangles ``[F, 3]`` for scheme ``mesh`` (None: Delaunay).

    Raises:
        DataError: coordinates of the wrong shape, repeated points, a graph that does not fit
            the scheme, positions outside a periodic domain, a non-periodic grid that is
            neither vertex- nor cell-centred in the domain.
    """
    pos = np.asarray(pos, dtype=np.float64)
    i, j = np.asarray(i), np.asarray(j)
    ops = sorted(set(ops))
    n = pos.shape[0]
    if pos.ndim != 2 or pos.shape[1] != box.dim:
        raise DataError(f"coordinates must have shape [N, {box.dim}], got {list(pos.shape)}")
    check_inside(pos, box, require=box.periodic, name=name)
    d = box.displacement(pos, i, j)
    r = np.linalg.norm(d, axis=1)
    if (r == 0).any():
        raise DataError(f"two neighbouring nodes have the same coordinates '{name}' (or a "
                        "self-loop); geometric stencils need distinct points")
    out = {}
    if "geo_dgrad" in ops:
        out["geo_dgrad"] = 1.0 / r
    rest = [o for o in ops if o != "geo_dgrad"]
    if scheme not in SCHEMES:
        raise DataError(f"unknown scheme '{scheme}' (known: {', '.join(SCHEMES)})")
    if scheme == "auto":
        scheme = "grid" if grid_structure(d, i, n, strict=False) is not None else "lsq"
    if not rest:
        return out, scheme
    if scheme == "grid":
        out.update(grid_weights(d, i, n, rest, pos=pos, box=box, name=name))
    elif scheme == "lsq":
        out.update(lsq_weights(d, i, n, rest))
    else:
        if box.periodic:
            raise DataError("scheme 'mesh' does not support periodic domains (use grid or lsq)")
        out.update(mesh_weights(pos, i, j, rest, cells))
    return out, scheme
