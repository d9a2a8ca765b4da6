"""Stand-in for torch_sparse (no build for torch 2.13 here) for the GRAND-family reference codes
(jeongwhanchoi/GREAD, ykiiiiii/ACMP): the calls their ODE functions make, in plain torch with
the same operations as torch_sparse's own Python (spmm: gather, scale, scatter-add)."""
import torch
from torch_geometric.utils import coalesce as _coalesce


def spmm(index, value, m, n, matrix):
    """out[m, c] = sum over edges (r, k) of value * matrix[k]: torch_sparse.spmm's body."""
    row, col = index[0], index[1]
    matrix = matrix if matrix.dim() > 1 else matrix.unsqueeze(-1)
    msg = matrix.index_select(-2, col) * value.unsqueeze(-1)
    out = matrix.new_zeros(*matrix.shape[:-2], m, matrix.shape[-1])
    return out.index_add_(-2, row, msg)


def coalesce(index, value, m, n, op="add"):
    """Sorted, duplicate-free edges with their values combined (torch_sparse.coalesce)."""
    return _coalesce(index, value, m, reduce={"add": "sum"}.get(op, op))


class SparseTensor:  # only the rewiring / kNN paths build one
    def __init__(self, *a, **k):
        raise ImportError("torch_sparse.SparseTensor is stubbed (benchmarks/reference/stubs_grand)")
