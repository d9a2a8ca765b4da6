"""Stand-in for torch_scatter (no build for torch 2.13 here): scatter / scatter_add on
torch_geometric.utils.scatter, the calls the GRAND-family reference codes make."""
from torch_geometric.utils import scatter as _scatter


def scatter(src, index, dim=-1, out=None, dim_size=None, reduce="sum"):
    assert out is None
    return _scatter(src, index, dim=dim, dim_size=dim_size, reduce=reduce)


def scatter_add(src, index, dim=-1, out=None, dim_size=None):
    return scatter(src, index, dim, out, dim_size, "sum")


def segment_csr(*a, **k):
    raise ImportError("torch_scatter.segment_csr is stubbed (benchmarks/reference/stubs_grand)")


gather_csr = segment_csr
