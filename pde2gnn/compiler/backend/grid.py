"""The shifted-copies form of a CSR operator on a periodic structured grid, for the compiled path.

On a periodic grid of shape ``(n_0, ..., n_{m-1})`` (nodes in C order, the last axis fastest)
an operator whose every row has the same neighbour offsets ``d_k`` (a translation-invariant
stencil pattern: the periodic 5-point Laplacian, ``dx``, ``lap(lap(u))`` hoisted into two
products...) is a sum of shifted copies of the state,

    y[p] = sum_{k < K} w_k[p] x[(p + d_k) mod n],      p a grid point, x reshaped [*shape, c],

a discrete convolution with periodic wrap (LeVeque 2007, "Finite Difference Methods for
Ordinary and Partial Differential Equations", sec. 2.6; the DIA storage of Saad 2003,
"Iterative Methods for Sparse Linear Systems", sec. 3.4, on a torus). The neighbours are
found by arithmetic on the grid index instead of an index array: under ``torch.compile``
inductor turns the shifts into vector loads. The compiled path wraps every axis with
``torch.roll`` (:data:`COMPILED_WRAP`; index arithmetic, one modulo per row on the outer axes
and per element on the last), which inductor fuses into the loop that consumes the product;
the other form, ``wrap="pad"``, reads the last axis through slices of one periodically padded
copy of the state (``[..., n_{m-1} + l + r, c]``, l and r the largest offsets to either side),
a second pass over the state per product. Measured here (an ad hoc script timing
``CompiledStep.steps``: rk4 of heat compiled whole by inductor, 4 steps a call, float64, CPU
us per evaluation, the variants interleaved in one run, load 7-10): 64 x 64: padded 16.1,
rolled 13.8, rolled with 256-bit vectors 9.8 (the numba loop 3.2); 256 x 256: 205, -, 121
(loop 40): the compiled path rolls, with the vector width :mod:`pde2gnn.integrate.compiled`
chooses for shifted grid products.

The pattern is found from the pattern's ``crow`` and ``col`` alone by :func:`detect` (every
row of the same length, and one factorisation of n into a grid shape under which every row
has the same offsets), never from the spec's name or domain. The compiled path uses the form
where the weights are translation-invariant too: static values (built once per graph, such
as the grid's geometric Laplacian weights) whose entries at each offset are one number,
recorded with those K numbers by :func:`bake` before tracing and recognised by identity in
the traced code (:func:`lookup`), so the weights are constants of the generated loop. Weights
read per row (``values[pos]``) are exact too (:func:`grid_product` takes either) but, traced,
inductor repeats that gather at every load: the compiled rk4 step of heat on 64 x 64 took
2.4x the ELL form's time, so such operators keep the ELL form.
"""
from __future__ import annotations

from itertools import product
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

#: the most offsets (entries per row) stored in the shifted form
MAX_OFFSETS = 64
#: grids of up to this many axes are searched for
MAX_AXES = 3
#: rows checked before a whole pattern is (a quick rejection of most non-grid graphs)
PROBE_ROWS = 64
#: how the compiled product wraps the grid's axes (``grid_product``'s ``wrap``; see above)
COMPILED_WRAP = "roll"


class GridForm:
    """The shifted form of one CSR pattern: its grid and offsets.

    Attributes:
        shape: the grid ``(n_0, ..., n_{m-1})``, ``prod(shape) = n`` (C order).
        offsets: ``[K, m]`` long, offset k of every row, each component in
            ``(-n_a / 2, n_a / 2]``.
        pos: ``[K, n]`` long, the CSR position of row p's entry at offset k.
        steps: the offsets as a tuple of tuples of ints.
        pad: ``(l, r)``, the periodic padding of the last axis (the largest offsets to the
            left and to the right along it).
    """

    def __init__(self, shape: Tuple[int, ...], offsets: Tensor, pos: Tensor):
        self.shape, self.offsets, self.pos = shape, offsets, pos
        #: the offsets as Python integers (constants of the traced code)
        self.steps = tuple(tuple(int(v) for v in row) for row in offsets.tolist())
        last = [d[-1] for d in self.steps]
        self.pad = (max(0, -min(last)), max(0, max(last)))

    @property
    def width(self) -> int:
        return int(self.offsets.shape[0])

    def describe(self) -> str:
        return f"shifted grid ({'x'.join(map(str, self.shape))} periodic, K = {self.width})"

    def to(self, device) -> "GridForm":
        return GridForm(self.shape, self.offsets.to(device), self.pos.to(device))


def _shapes(n: int) -> List[Tuple[int, ...]]:
    """Grid shapes with ``prod = n``: 1-D, then 2-D, then 3-D (fewest axes first; within a
    rank, the most even first), every axis >= 3 points."""
    small = [d for d in range(1, int(n ** 0.5) + 1) if n % d == 0]
    divisors = sorted({d for s in small for d in (s, n // s) if d >= 3})
    out: List[Tuple[int, ...]] = [(n,)] if n >= 3 else []
    for rank in range(2, MAX_AXES + 1):
        found = []
        for head in product(divisors, repeat=rank - 1):
            rest, ok = n, True
            for d in head:
                if rest % d:
                    ok = False
                    break
                rest //= d
            if ok and rest >= 3:
                found.append(head + (rest,))
        out += sorted(found, key=lambda s: max(s) / min(s))
    return out


def _codes(rows: Tensor, cols: Tensor, shape: Sequence[int]) -> Tensor:
    """The offset of every entry ``(rows, cols)`` on the grid, wrapped and flattened to one
    integer in ``[0, n)`` (``ravel((c - r) mod shape)``)."""
    code = torch.zeros_like(rows)
    r, c = rows.clone(), cols.clone()
    stride = 1
    for size in reversed(shape):
        code += ((c % size - r % size) % size) * stride
        r, c, stride = r // size, c // size, stride * size
    return code


def _try(crow: Tensor, col: Tensor, shape, k: int, rows: Tensor) -> Optional[Tensor]:
    """The per-row offset codes, ``[len(rows), K]`` sorted, if every listed row has row
    ``rows[0]``'s offsets under ``shape``, else None."""
    at = crow[rows].unsqueeze(1) + torch.arange(k)
    codes = _codes(rows.unsqueeze(1).expand_as(at), col[at], shape)
    srt = codes.sort(1)
    return srt if bool((srt.values == srt.values[:1]).all()) else None


def detect(crow: Tensor, col: Tensor) -> Optional[GridForm]:
    """The shifted grid form of a CSR pattern (``crow [n + 1]``, ``col [nnz]``, distinct
    entries per row), or None where no grid shape makes its offsets the same in every row
    (rows of unequal length, an irregular graph, more than :data:`MAX_OFFSETS` per row)."""
    crow, col = crow.cpu(), col.cpu()
    n, nnz = crow.numel() - 1, int(col.numel())
    if n < 3 or nnz == 0 or nnz % n:
        return None
    k = nnz // n
    if k > MAX_OFFSETS or not bool((crow[1:] - crow[:-1] == k).all()):
        return None
    probe = torch.unique(torch.cat([torch.arange(min(n, PROBE_ROWS)),
                                    torch.linspace(0, n - 1, PROBE_ROWS).long()]))
    every = torch.arange(n)
    for shape in _shapes(n):
        if _try(crow, col, shape, k, probe) is None:
            continue
        srt = _try(crow, col, shape, k, every)
        if srt is None:
            continue
        code = srt.values[0]                                      # [K], the offsets
        offsets = []
        for size in reversed(shape):
            d = code % size
            offsets.append(torch.where(d > size // 2, d - size, d))
            code = code // size
        pos = (crow[:-1].unsqueeze(1) + srt.indices).t().contiguous()      # [K, n]
        return GridForm(tuple(shape), torch.stack(offsets[::-1], 1), pos)
    return None


def constants(form: GridForm, values: Tensor) -> Optional[Tuple[float, ...]]:
    """The K weights of a translation-invariant operator: ``values [nnz]`` (CSR order) whose
    entries at each offset are one number in every row, as Python floats (offset order); None
    where any row differs (geometric weights of an irregular box, per-node coefficients)."""
    if not torch.is_tensor(values) or values.dim() != 1 or not values.is_floating_point() \
            or values.numel() != form.pos.numel() or values.requires_grad:
        return None
    w = values.detach()[form.pos.to(values.device)]                       # [K, n]
    if not bool((w == w[:, :1]).all()):
        return None
    return tuple(float(v) for v in w[:, 0].tolist())


def bake(form: GridForm, tensors) -> bool:
    """Record which of ``tensors`` (the static values of the fields that use this pattern,
    computed once per graph) are translation-invariant on it, with their constant weights
    (``form.baked``: ``(tensor, version, weights)``); return whether the record changed."""
    baked = []
    for t in tensors:
        w = constants(form, t)
        if w is not None:
            baked.append((t, t._version, w))
    old = getattr(form, "baked", ())
    same = len(old) == len(baked) and all(
        a[0] is b[0] and a[1] == b[1] and a[2] == b[2] for a, b in zip(old, baked))
    form.baked = tuple(baked)
    return not same


def lookup(form: GridForm, values: Tensor) -> Optional[Tuple[float, ...]]:
    """The constant weights recorded by :func:`bake` for this very tensor (identity, which
    ``torch.compile`` resolves while tracing), else None."""
    for ref, _, weights in getattr(form, "baked", ()):
        if values is ref:
            return weights
    return None


def grid_product(form: GridForm, weights, x: Tensor, wrap: str = "pad") -> Tensor:
    """``A @ x`` on the pattern of ``form``, x ``[n, c]`` -> ``[n, c]``, as the sum of the K
    shifted copies of x on the grid, weighted by ``weights``: A's CSR ``values [nnz]`` (read
    per row as ``values[pos]``; differentiable) or the K constants of a translation-invariant
    operator (:func:`constants`: Python floats, which the compiled code holds as immediates, as
    a hand-written stencil loop does). ``wrap``: ``"roll"`` (every axis by ``torch.roll``) or
    ``"pad"`` (the last axis through a periodically padded copy); the same values. See the
    module's docstring.

    Raises:
        ValueError: another ``wrap``."""
    if wrap not in ("pad", "roll"):
        raise ValueError(f"wrap must be 'pad' or 'roll', got {wrap!r}")
    shape, c = form.shape, x.shape[-1]
    g = x.reshape(*shape, c)
    if torch.is_tensor(weights):
        w = weights[form.pos].reshape(form.width, *shape, 1)
    else:
        w = weights
    left, right = form.pad if wrap == "pad" else (0, 0)
    if left or right:                        # periodic padding of the last grid axis
        g = torch.cat([g[..., shape[-1] - left:, :], g, g[..., :right, :]], -2)
    y = None
    for k, d in enumerate(form.steps):
        if wrap == "pad":
            s = g.narrow(-2, left + d[-1], shape[-1])
            others = [(-v, a) for a, v in enumerate(d[:-1]) if v]
        else:
            s = g
            others = [(-v, a) for a, v in enumerate(d) if v]
        if others:
            s = torch.roll(s, [v for v, _ in others], [a for _, a in others])
        term = w[k] * s
        y = term if y is None else y + term
    return y.reshape(x.shape)
