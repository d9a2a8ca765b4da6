"""Static arrays of boundary conditions on domain faces, computed once per graph.

For a field ``u`` with face conditions, :mod:`pde2gnn.compiler.discretize.boundary` rewrites every
``op(u)`` (``op`` one of lap, dx, dy, dz with base weight ``geo_op``) as
``sum_j W'_ij (u_j - u_i) + C_i u_i + sum_k S^k_i g_k(t, wall_k(p_i))`` and eliminates the
nodes of Dirichlet faces where nodes lie on the wall (mask ``m^k``). This module computes
``W'`` (``[E]``), ``C``, ``S^k`` and ``m^k`` (``[N]``), float64, from the coordinates (and
``d^k``, the wall distance delta of a Robin flux on face k, for a, b that vary). A
condition is ``a u + b du/dn = g`` on face k (outward normal n = -e_a on the lower face,
+e_a on the upper; Dirichlet a = 1, b = 0; Neumann a = 0, b = 1).

``grid``, vertex-centred (outermost nodes on the walls, spacing h): Dirichlet nodes on the wall
    are eliminated; Neumann / Robin by the ghost node u_{-1} = u_1 + 2 h du/dn:
    ``lap += 2 (u_1 - u_0) / h^2 + (2 / h) q`` with ``q = (g - a u_0) / b``, and
    ``d/dx_a = n_a q`` (LeVeque, *Finite Difference Methods*, 2007, sec. 2.12). Second order.
``grid``, cell-centred (outermost nodes h/2 inside): the face flux, a finite-volume ghost cell
    u_g with (u_0 + u_g) / 2 = u_wall: ``lap += (u_1 - u_0) / h^2 + q / h`` with
    ``q = (g - a u_0) / (b + a h / 2)`` (Dirichlet: 2 (g - u_0) / h); symmetric, second order
    (the O(1) truncation error in the boundary cells does not lower the global order:
    supraconvergence, Manteuffel & White, Math. Comp. 1986). ``d/dx_a`` at the wall cell is
    the derivative of the quadratic through the condition, u_0 and u_1 (second order).
``lsq``   nodes on a face (within 1e-8 of the extent) are Dirichlet nodes, or get one more row
    in their least-squares fits: ``n . grad u = q`` (q = (g - a u_0) / b), so the gradient and
    the quadratic fit's Laplacian see the condition (the boundary rows of the system).
``mesh``  Dirichlet nodes as lsq; Neumann / Robin by the boundary term of the cotangent
    (P1 finite-element, lumped) Laplacian: ``lap_i += sum_e |e| / 2 / A_i q`` over the hull
    edges e on the face; ``dx``, ``dy`` keep their weights (the natural boundary).
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from pde2gnn.errors import DataError
from pde2gnn.compiler.symbolic.constants import Box
from pde2gnn.compiler.discretize.geometry import AXES, _batched_lsq, grid_structure


def _face_nodes(pos: np.ndarray, box: Box, face) -> np.ndarray:
    a, s = face
    v = (box.low, box.high)[s][a]
    return np.abs(pos[:, a] - v) <= 1e-8 * box.extent[a]


def boundary_weights(pos: np.ndarray, i: np.ndarray, j: np.ndarray, box: Box, scheme: str,
                     base: Dict[str, np.ndarray], conditions: Sequence, arrays: Dict[str, tuple],
                     name: str = "coordinates") -> Dict[str, np.ndarray]:
    """The arrays ``arrays`` names (``{name: (field, what, op, k)}``, see
    :class:`pde2gnn.compiler.discretize.boundary.BoundaryPlan`).

    Args:
        pos: coordinates ``[N, D]``; i, j: receiving node and neighbour per edge ``[E]``.
        box: the domain; scheme: ``grid``, ``lsq`` or ``mesh`` (resolved, not ``auto``).
        base: the plain geometric weights ``{geo_op: [E]}`` of the scheme.
        conditions: the spec's :class:`pde2gnn.compiler.symbolic.boundary.Boundary` records.

    Raises:
        DataError: a node outside the domain, a face without nodes (lsq, mesh: a condition
            needs nodes on the wall), a grid that is neither vertex- nor cell-centred.
    """
    from pde2gnn.compiler.discretize.geometry import check_inside
    pos = np.asarray(pos, float)
    check_inside(pos, box, name=name)
    n = len(pos)
    out: Dict[str, np.ndarray] = {}
    fields = sorted({v[0] for v in arrays.values()})
    d = box.displacement(pos, i, j)
    grid = grid_structure(d, i, n, True, pos, box, name) if scheme == "grid" else None
    for f in fields:
        faces = [c for c in conditions if c.field == f and c.face is not None]
        ops = sorted({v[2] for v in arrays.values() if v[0] == f and v[2]})
        try:
            masks = _dirichlet_masks(pos, box, faces, grid, i)
        except DataError as e:
            raise DataError(f"{e} (coordinates '{name}')") from None
        for k, m in masks.items():
            out[f"bc__{f}_m{k}"] = m
        for op in ops:
            try:
                if scheme == "grid":
                    W, C, S = _grid(op, base[op], grid, i, faces, masks)
                elif scheme == "lsq":
                    W, C, S = _lsq(op, base[op], pos, box, d, i, faces, masks)
                else:
                    W, C, S = _mesh(op, base[op], pos, box, faces, masks)
            except DataError as e:
                raise DataError(f"{e} (coordinates '{name}')") from None
            out[f"{op}__{f}"], out[f"{op}__{f}_c"] = W, C
            for k, c in enumerate(faces):
                out[f"{op}__{f}_s{k}"] = S[k]
                cell = grid is not None and grid.centring[c.face[0]] == "cell"
                out[f"{op}__{f}_d{k}"] = np.full(n, grid.h[c.face[0]] / 2 if cell and
                                                 op == "geo_lap" else 0.0)
    return {k: v for k, v in out.items() if k in arrays}


def _dirichlet_masks(pos, box, faces, grid, i) -> Dict[int, np.ndarray]:
    """Node sets of the Dirichlet faces whose nodes lie on the wall (a node on two faces
    belongs to the first declared)."""
    taken = np.zeros(len(pos), bool)
    out = {}
    for k, c in enumerate(faces):
        if c.kind != "dirichlet":
            continue
        if grid is not None and grid.centring[c.face[0]] == "cell":
            on = np.zeros(len(pos), bool)      # no node on the wall: a wall condition
        else:
            on = _face_nodes(pos, box, c.face)
            if not on.any():
                raise DataError(f"no node lies on the face of the Dirichlet condition on line "
                                f"{c.line} (coordinate {'xyz'[c.face[0]]} = "
                                f"{(box.low, box.high)[c.face[1]][c.face[0]]:g}): put nodes "
                                "on the walls")
        out[k] = (on & ~taken).astype(float)
        taken |= on
    return out


def _robin(c, delta: float):
    """(coefficient of u_0, coefficient of g) in q = (g - a u_0) / (b + a delta); for varying
    a, b (0, 1): the source array is then the geometric factor alone, and the IR multiplies it
    by (g - a u_0) / (b + a delta) (:mod:`pde2gnn.compiler.discretize.boundary`)."""
    if c.varying:
        return 0.0, 1.0
    a, b = c.coefficients
    den = b + a * delta
    if den == 0:
        raise DataError(f"the robin condition on line {c.line} (a = {a:g}, b = {b:g}) "
                        f"degenerates on this grid: b + a h / 2 = 0")
    return -a / den, 1.0 / den


def _grid(op, w0, g, i, faces, masks):
    """Ghost-node (vertex) and face-flux (cell) boundary stencils of a regular grid."""
    n = g.count.shape[0]
    W, C = w0.copy(), np.zeros(n)
    S = [np.zeros(n) for _ in faces]
    dirichlet = np.zeros(n, bool)
    for m in masks.values():
        dirichlet |= m > 0
    wall = g.count[i, g.axis] == 1                      # edges leaving a wall node
    for k, c in enumerate(faces):
        a, side = c.face
        if op in AXES and AXES[op] != a:
            continue
        cell = g.centring[a] == "cell"
        if c.kind == "dirichlet" and not cell:
            continue                                    # eliminated nodes
        h = g.h[a]
        sel = wall & (g.axis == a) & (g.sign == (1 if side == 0 else -1))
        e = np.flatnonzero(sel & ~dirichlet[i])
        nodes = i[e]
        normal = -1.0 if side == 0 else 1.0
        delta = h / 2 if cell else 0.0
        if c.varying and cell and op != "geo_lap":
            raise DataError(f"the robin condition on line {c.line} has a, b that vary: "
                            f"{op[4:]} of the field on a cell-centred grid needs constant a, b "
                            "(its wall stencil depends on them); use a vertex-centred grid, "
                            "lsq or mesh")
        A, B = (0.0, 1.0) if c.varying else c.coefficients
        if op == "geo_lap":
            kappa = 1.0 if cell else 2.0
            cu, cg = _robin(c, delta)
            np.add.at(C, nodes, kappa / h * cu)
            np.add.at(S[k], nodes, kappa / h * cg)
        else:   # the quadratic through the condition, u_0 and u_1: d/dx_a = -n_a * A
            P = A * delta ** 2 + 2 * B * delta
            Q = A * delta + B + P / h
            if Q == 0:
                raise DataError(f"the robin condition on line {c.line} (a = {A:g}, b = {B:g}) "
                                "degenerates for d/dx on this grid")
            W[e] = -normal * P / (Q * h ** 2)
            np.add.at(C, nodes, -normal * A / Q)
            np.add.at(S[k], nodes, normal / Q)
    return W, C, S


def _lsq(op, w0, pos, box, d, i, faces, masks):
    """Least-squares weights with one row ``n . grad u = q`` per Neumann / Robin face node."""
    n, D = pos.shape
    rows: List[tuple] = []
    dirichlet = np.zeros(n, bool)
    for m in masks.values():
        dirichlet |= m > 0
    for k, c in enumerate(faces):
        if c.kind == "dirichlet":
            continue
        nodes = np.flatnonzero(_face_nodes(pos, box, c.face) & ~dirichlet)
        if not len(nodes):
            raise DataError(f"no node lies on the face of the {c.kind} condition on line "
                            f"{c.line}: scheme lsq needs nodes on the walls")
        rows += [(k, v) for v in nodes]
    C = np.zeros(n)
    S = [np.zeros(n) for _ in faces]
    if not rows:
        return w0.copy(), C, S
    xn = np.array([v for _, v in rows])
    normal = np.zeros((len(rows), D))
    for r, (k, _) in enumerate(rows):
        a, side = faces[k].face
        normal[r, a] = -1.0 if side == 0 else 1.0
    if op == "geo_lap":
        pairs = [(a, b) for a in range(D) for b in range(a + 1, D)]

        def basis(x):
            cols = [x, 0.5 * x ** 2] + [x[:, [a]] * x[:, [b]] for a, b in pairs]
            return np.concatenate(cols, 1), np.array([1] * D + [2] * D + [2] * len(pairs))
        m = 2 * D + len(pairs)
        extra = np.concatenate([normal, np.zeros((len(rows), m - D))], 1)
        coef, cx = _batched_lsq(d, i, n, basis, (xn, extra))
        W, qx = coef[:, D:2 * D].sum(1), cx[:, D:2 * D].sum(1)
    else:
        coef, cx = _batched_lsq(d, i, n, lambda x: (x, np.ones(D)), (xn, normal))
        W, qx = coef[:, AXES[op]], cx[:, AXES[op]]
    for r, (k, v) in enumerate(rows):
        cu, cg = _robin(faces[k], 0.0)
        C[v] += qx[r] * cu
        S[k][v] += qx[r] * cg
    return W, C, S


def _mesh(op, w0, pos, box, faces, masks):
    """The boundary integral of the lumped P1 Laplacian on the faces' hull edges."""
    from scipy.spatial import Delaunay

    n = len(pos)
    C = np.zeros(n)
    S = [np.zeros(n) for _ in faces]
    if op != "geo_lap":
        return w0.copy(), C, S
    tri = Delaunay(pos).simplices
    p = pos[tri]
    area2 = np.abs((p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1])
                   - (p[:, 1, 1] - p[:, 0, 1]) * (p[:, 2, 0] - p[:, 0, 0]))
    A = np.bincount(tri.ravel(), weights=np.repeat(area2 / 6, 3), minlength=n)
    dirichlet = np.zeros(n, bool)
    for m in masks.values():
        dirichlet |= m > 0
    edges = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    for k, c in enumerate(faces):
        if c.kind == "dirichlet":
            continue
        on = _face_nodes(pos, box, c.face)
        if not on.any():
            raise DataError(f"no node lies on the face of the {c.kind} condition on line "
                            f"{c.line}: scheme mesh needs nodes on the walls")
        e = np.unique(np.sort(edges[on[edges].all(1)], 1), axis=0)
        length = np.linalg.norm(pos[e[:, 0]] - pos[e[:, 1]], axis=1)
        cu, cg = _robin(c, 0.0)
        for end in (0, 1):
            v = e[:, end]
            keep = ~dirichlet[v]
            np.add.at(C, v[keep], length[keep] / 2 / A[v[keep]] * cu)
            np.add.at(S[k], v[keep], length[keep] / 2 / A[v[keep]] * cg)
    return w0.copy(), C, S
