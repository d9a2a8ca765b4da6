"""The direct solver factorises per channel block when the stage matrix couples no channels
(:mod:`pde2gnn.integrate.blocklu`): once, shared, when all blocks are equal (a scalar
diffusivity), once per distinct block otherwise; solutions (and transposed solutions) agree
with SuperLU of the whole N D system to 1e-12 relative."""
import numpy as np
import pytest
import scipy.sparse as sps
import torch
from scipy.sparse.linalg import splu

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs
from pde2gnn.integrate.blocklu import ChannelBlockLU, channel_blocks
from pde2gnn.integrate.linsolve import MatrixOperator, StageSolver

PER_CHANNEL = """model per_channel_heat
field x : node[d]
learn alpha : [d]
dt(x) = sigmoid(alpha) * sum_j(x_j - x_i) - x^3
"""


def _whole(M, g, b, trans=False):
    a = (sps.identity(M.shape[0], format="csc") - g * sps.csc_matrix(M))
    return splu(a, permc_spec="MMD_AT_PLUS_A").solve(b, trans="T" if trans else "N")


def _field(spec, d, n=8):
    pos, ei = graphs.grid_graph((n, n), (0, 0), (1, 1), periodic=True)
    f = compiler.compile(spec, torch.as_tensor(ei), n * n, dims={"d": d})
    return f.to(torch.float64)


def _check(solver, M, g, d):
    rng = np.random.default_rng(0)
    b = torch.as_tensor(rng.standard_normal((M.shape[0] // d, d)))
    for trans in (False, True):
        x = solver._raw(g, b, None, trans, "").reshape(-1).numpy()
        want = _whole(M, g, b.reshape(-1).numpy(), trans)
        assert np.linalg.norm(x - want) <= 1e-12 * np.linalg.norm(want)


def test_scalar_diffusivity_shares_one_factorisation():
    d = 3
    f = _field("heat", d)
    y = torch.randn(64, d, dtype=torch.float64)
    f.prepare(y)
    op = f.split_operator()
    M = op.matrix()
    blocks = channel_blocks(M, d)
    assert blocks is not None and len(blocks) == d
    solver = StageSolver(op, "direct")
    _check(solver, M, 0.7, d)
    assert solver.stats.factorizations == 1


def test_per_channel_coefficients_one_factorisation_each():
    d = 4
    f = _field(PER_CHANNEL, d)
    with torch.no_grad():
        f.learnables.alpha.value.copy_(torch.tensor([0.5, -1.0, 0.5, 2.0]))
    y = torch.randn(64, d, dtype=torch.float64)
    f.prepare(y)
    op = f.split_operator()
    M = op.matrix()
    assert channel_blocks(M, d) is not None
    solver = StageSolver(op, "direct")
    _check(solver, M, 1.3, d)
    assert solver.stats.factorizations == 3      # channels 0 and 2 share one


def test_coupled_channels_factorise_the_whole_system():
    rng = np.random.default_rng(1)
    n, d = 30, 2
    lap = sps.random(n, n, density=0.2, random_state=2)
    M = sps.kron(lap, np.array([[1.0, 0.3], [0.0, 1.0]])).tocsr()   # channel 1 feeds 0
    assert channel_blocks(M, d) is None
    solver = StageSolver(MatrixOperator(M, width=d), "direct")
    _check(solver, M, 0.2, d)
    assert solver.stats.factorizations == 1
    # an uncoupled matrix with distinct blocks, through the class itself, K right-hand sides
    M = sps.block_diag([lap, 2 * lap]).tocsr()
    perm = np.arange(2 * n).reshape(2, n).T.reshape(-1)        # to node-major order
    M = M[perm][:, perm]
    a = (sps.identity(2 * n) - 0.1 * M).tocsr()
    lu = ChannelBlockLU(channel_blocks(a, d), lambda b: splu(b.tocsc()))
    b = rng.standard_normal((2 * n, 3))
    assert lu.factorizations == 2
    assert np.linalg.norm(a @ lu.solve(b) - b) <= 1e-12 * np.linalg.norm(b)
    assert np.linalg.norm(a.T @ lu.solve(b, "T") - b) <= 1e-12 * np.linalg.norm(b)


@pytest.mark.parametrize("d", [1, 3])
def test_jacobian_solver_blocks_match(d):
    """ros34pw2's solver (the whole Jacobian, in a nested-dissection order) factorises per
    channel too: J = diag(sigmoid(alpha)) (x) Lap - 3 x^2 has a different block per channel."""
    from pde2gnn.integrate.jacobian import FrozenJacobian
    from pde2gnn.integrate.linsolve import SolveStats
    f = _field(PER_CHANNEL, d, n=10)
    y0 = torch.randn(100, d, dtype=torch.float64)
    f.prepare(y0)
    frozen = FrozenJacobian(f, f.split_operator(), 1.0, SolveStats(), 1e-10, 1e-12, 100)
    solver = frozen.refresh(torch.tensor(0.0, dtype=torch.float64), y0)
    J = solver.op.matrix()
    assert (channel_blocks(J, d) is not None) == (d > 1)
    _check(solver, J, 0.4, d)
    assert solver.stats.factorizations == d
