"""The padded ELL (ELLPACK) form of a CSR operator, for the compiled path.

Under ``torch.compile`` a sparse product written as a gather and a reduction over a fixed,
small number of neighbours,

    y_i = sum_{k < K} w[i, k] x[idx[i, k]],    w [N, K], idx [N, K],  K = max row length,

is plain tensor code: inductor turns it into one loop over the rows, fused with the node-wise
arithmetic around it (no call into torch's CSR kernel, no copy of a single-column operand),
and its backward into a gather and an ``index_add`` (scatter) that it generates as well. Rows
shorter than K are padded with the row's own index and weight 0 (the ELLPACK format of
Kincaid, Oppe & Young, "ITPACKV 2D user's guide", 1989; Bell & Garland, "Implementing sparse
matrix-vector multiplication on throughput-oriented processors", SC 2009).

The index arrays are built once per graph, outside the traced region
(:func:`prepare`, called by :mod:`pde2gnn.integrate.compiled` before the first trace); the
weights are gathered from the CSR values inside it (``w = [values, 0][pos]``), so operators
whose values change (learned, per solve) need no rebuild. Padding wastes work when one row is
much longer than the mean: the form is used only where ``K <= MAX_WIDTH`` and
``K <= MAX_PADDING x`` the mean row length; other operators keep the custom CSR operator
(:mod:`.csr_op`).
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from pde2gnn.compiler.backend import grid

#: the longest row (neighbours per node) stored in ELL form
MAX_WIDTH = 64
#: the largest ratio of the longest row to the mean row length
MAX_PADDING = 4.0


class ELLForm:
    """The ELL index arrays of one CSR pattern (n rows, ``nnz`` entries, longest row K).

    Attributes:
        idx: ``[n, K]`` long, the column of each stored entry; a padding slot holds its row.
        pos: ``[n, K]`` long, the entry's position in the CSR values; a padding slot holds
            ``nnz`` (the zero appended to the values by :func:`ell_product`).
        width: K. padding: stored slots / ``nnz`` (1.0 for a regular grid's stencil).
    """

    def __init__(self, crow: Tensor, col: Tensor):
        n = crow.numel() - 1
        nnz = int(col.numel())
        length = crow[1:] - crow[:-1]
        self.width = int(length.max()) if n else 0
        slot = torch.arange(self.width, device=crow.device)
        valid = slot < length.unsqueeze(1)
        at = crow[:-1].unsqueeze(1) + slot
        rows = torch.arange(n, device=crow.device).unsqueeze(1).expand(n, self.width)
        self.pos = torch.where(valid, at, nnz)
        self.idx = torch.where(valid, col[at.clamp(max=max(nnz - 1, 0))], rows).contiguous()
        self.padding = n * self.width / max(nnz, 1)
        #: every row has K entries (a regular grid, a k-NN graph): the CSR values are already
        #: the ``[n, K]`` weights, read without a gather
        self.uniform = n * self.width == nnz


def choose(crow: Tensor, col: Tensor) -> Tuple[Optional[ELLForm], str]:
    """The ELL form of the pattern (``crow [n + 1]``, ``col [nnz]``), or None where padding
    would waste too much (see the module's docstring), with a phrase saying which form the
    compiled product uses and why."""
    n, nnz = crow.numel() - 1, int(col.numel())
    if n == 0 or nnz == 0:
        return None, "csr_mm (empty operator)"
    width = int((crow[1:] - crow[:-1]).max())
    mean = nnz / n
    if width > MAX_WIDTH or width > MAX_PADDING * mean:
        return None, (f"csr_mm (longest row {width} against mean {mean:.3g}: ELL needs "
                      f"<= {MAX_WIDTH} and <= {MAX_PADDING:g} x mean)")
    form = ELLForm(crow, col)
    return form, f"ELL (K = {width}, {form.padding:.2f} x the non-zeros)"


def ell_product(form: ELLForm, values: Tensor, x: Tensor) -> Tensor:
    """``A @ x`` for A's CSR ``values [nnz]`` and x ``[n, c]`` -> ``[n, c]``, as a gather of
    the neighbours' rows and a reduction over the K slots (differentiable in both)."""
    if form.uniform:
        w = values.reshape(form.idx.shape)
    else:
        w = F.pad(values, (0, 1))[form.pos]                    # [n, K], 0 on padding
    return (w.unsqueeze(-1) * x[form.idx]).sum(1)


def _static_values(module: torch.nn.Module):
    """The static values (computed once per graph: ``VectorField._static_cache``) of the
    fields inside ``module``, the candidates for constant grid weights."""
    out = []
    for m in module.modules():
        cache = getattr(m, "_static_cache", None)
        if isinstance(cache, dict):
            out += [v for v in cache.values() if torch.is_tensor(v)]
    return out


def _patterns(module: torch.nn.Module):
    """``(label, pattern, graph)`` for the CSR patterns of every graph inside ``module``."""
    for ops in module.modules():
        if not hasattr(ops, "_pattern") or not hasattr(ops, "_loops"):   # not a GraphOps
            continue
        for label, pattern in (("edges", ops._pattern()), ("edges + diagonal", ops._loops)):
            if pattern is not None:
                yield label, pattern, ops


def prepare(module: torch.nn.Module, shifted: bool = True) -> str:
    """Choose the compiled form of every CSR pattern of the graphs inside ``module`` (a vector
    field, prepared for the solve: its :class:`~pde2gnn.compiler.backend.graph_ops.GraphOps`
    and their edges-plus-diagonal and coalesced patterns) before ``torch.compile`` traces it:
    where ``shifted`` and the pattern is a periodic grid's (:func:`.grid.detect`), the shifted
    copies of the state for the operators on it whose weights are constant (:func:`.grid.bake`
    over the field's static values); else, and for the other operators, the ELL form
    (``pattern.ell``) where it pays, else ``csr_mm``. Returns what was chosen, one phrase per
    pattern (for the compile log)."""
    said = []
    statics = _static_values(module) if shifted else []
    for label, pattern, ops in _patterns(module):
        if getattr(pattern, "ell", None) is None or pattern.ell.idx.device != ops.i.device:
            pattern.ell, pattern.ell_choice = choose(pattern.crow, pattern.col)
        if not shifted:
            pattern.grid = None
        elif getattr(pattern, "grid_of", None) is not pattern.crow:   # not searched yet
            found = grid.detect(pattern.crow, pattern.col)
            pattern.grid = found.to(ops.i.device) if found is not None else None
            pattern.grid_of = pattern.crow
        elif pattern.grid is not None and pattern.grid.pos.device != ops.i.device:
            pattern.grid = pattern.grid.to(ops.i.device)
        choice = pattern.ell_choice
        if pattern.grid is not None:
            grid.bake(pattern.grid, statics)
            choice = pattern.grid.describe() if pattern.grid.baked else \
                f"{choice} (a periodic grid; no static operator with constant weights on it)"
        said.append(f"{label}: {choice}")
    return "; ".join(dict.fromkeys(said)) or "no sparse product"


def refresh(module: torch.nn.Module) -> bool:
    """Record again which static values of ``module`` have constant weights on its grid
    patterns (at the start of every compiled solve: a new graph or new inputs give new static
    values); True where that changed, so the compiled code must be traced again."""
    statics = _static_values(module)
    changed = False
    for _, pattern, _ in _patterns(module):
        if getattr(pattern, "grid", None) is not None:
            changed = grid.bake(pattern.grid, statics) or changed
    return changed
