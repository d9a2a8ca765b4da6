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


def test_metis_order_keeps_parts_together_and_round_trips_a_solve_and_its_gradients():
    """METIS part order of a random-order grid: a permutation whose parts are consecutive
    (so most edges join nodes at most a part apart); a GRAND-l rk4 solve on the relabelled
    graph, permuted back, equals the solve in the given order, and so do the gradients of a
    loss with respect to the learned weights (float64; the same sums in another order: 1e-10
    relative to the norms)."""
    import pytest
    pytest.importorskip("pymetis")
    from pde2gnn.integrate.solve import ODEBlock, SolverConfig
    gen = torch.Generator().manual_seed(1)
    n = 900
    _, ei = graphs.grid_graph((30, 30), (0.0, 0.0), (1.0, 1.0))
    shuffle = torch.randperm(n, generator=gen)
    inv = torch.empty_like(shuffle)
    inv[shuffle] = torch.arange(n)
    ei = inv[ei]
    new, order = graphs.metis_order(ei, n, part_size=100)
    assert sorted(order.tolist()) == list(range(n))
    near = ((new[0] - new[1]).abs() < 100).float().mean()
    assert near > 0.8 > ((ei[0] - ei[1]).abs() < 100).float().mean()
    x = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    back = torch.empty_like(order)
    back[order] = torch.arange(n)
    outs, grads = [], []
    for graph, x0, undo in ((ei, x, slice(None)), (new, x[order], back)):
        torch.manual_seed(0)
        field = compile("grand", graph, n, {"d": 3, "k": 2}).double()
        y = ODEBlock(field, 1.0, SolverConfig("rk4", step_size=0.25))(x0)[undo]
        loss = (y * torch.linspace(-1, 1, 3 * n, dtype=torch.float64).reshape(n, 3)).sum()
        params = [p for _, p in sorted(field.learned().items())]
        outs.append(y.detach())
        grads.append(torch.autograd.grad(loss, params))
    scale = float(outs[0].abs().max())
    torch.testing.assert_close(outs[1], outs[0], rtol=0, atol=1e-10 * scale)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10 * float(b.abs().max()))
