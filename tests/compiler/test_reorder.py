"""Node reordering (reverse Cuthill-McKee) and the sparse stochastic block model of
benchmarks/scale.py: a relabelling that narrows the band and commutes with the compiled field."""
import torch

from pde2gnn.graph import construction as graphs
from pde2gnn.compiler.pipeline import compile


def test_sbm_degree_and_blocks():
    ei, block = graphs.stochastic_block_model(2000, 10, 10, p_in=0.8, seed=1)
    assert (ei[0] != ei[1]).all() and ei.shape[1] == torch.unique(ei[0] * 2000 + ei[1]).numel()
    assert 8 <= ei.shape[1] / 2000 <= 10.5                        # mean degree about 10
    same = (block[ei[0]] == block[ei[1]]).float().mean()
    assert 0.75 <= same <= 0.9                                    # ~ p_in + (1 - p_in) / 10


def test_rcm_narrows_the_band_and_commutes_with_the_field():
    gen = torch.Generator().manual_seed(0)
    n = 400
    pos, ei = graphs.grid_graph((20, 20), (0.0, 0.0), (1.0, 1.0))
    shuffle = torch.randperm(n, generator=gen)                   # a grid in random order
    inv = torch.empty_like(shuffle)
    inv[shuffle] = torch.arange(n)
    ei = inv[ei]
    new, order = graphs.reverse_cuthill_mckee(ei, n)
    assert sorted(order.tolist()) == list(range(n))
    assert graphs.bandwidth(new) <= 25 < graphs.bandwidth(ei)   # 20 + 1 for a 20 x 20 grid
    x = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    torch.manual_seed(0)
    f = compile("grand", ei, n, {"d": 3, "k": 2}).double()
    torch.manual_seed(0)
    g = compile("grand", new, n, {"d": 3, "k": 2}).double()
    t = torch.tensor(0.0, dtype=torch.float64)
    f.prepare(x)
    g.prepare(x[order])
    torch.testing.assert_close(g(t, x[order]), f(t, x)[order], rtol=1e-12, atol=1e-12)
