"""adjoint=True with the implicit / IMEX methods (pde2gnn.integrate.imex_adjoint): the discrete
adjoint equals direct backpropagation through the same solve, equals central finite differences
of the discrete solve, is as accurate as the solution against the exact gradient of the heat
equation (expm), and keeps one state per step with no autograd graph.

Tolerances. (1) Adjoint against direct backpropagation: both are the gradient of the same
discrete map, computed by the same floating-point operations (the adjoint re-takes each step
from its checkpoint, with the same stage solves and the same implicit differentiation); only
the order in which the per-step parameter gradients are summed differs, so they agree to a few
hundred roundings, 1e-10 relative in float64. (2) Against central differences with step eps
of the discrete solve (fixed steps, sparse LU stage solves): truncation eps^2 |J'''| / 6 plus
rounding u |J| / eps; with eps = 1e-5 relative and u = 1.1e-16 both are below 1e-9 of the
gradient, hence 1e-7. (3) Against the exact gradient of the ODE: the discrete gradient of a
Runge-Kutta solve is the same method applied to the sensitivity equation along the same steps
(internal differentiation), so its relative error is that of the solution, which the step
control holds near the tolerance; asserted as <= 3 (e_y + rtol) with e_y the measured
relative error of y(T) itself; measured, the ratio is 0.6-1.
"""
import numpy as np
import pytest
import scipy.sparse as sps
import torch
from scipy.sparse.linalg import expm_multiply

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import OptionError
from pde2gnn.graph import construction as graphs
from pde2gnn.integrate.imex_tableaus import IMEX_TABLEAUS, ROSENBROCK_TABLEAUS
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

HEAT = """model heat_learn
field u : node[d]
learn kappa = 0.7
dt(u) = kappa * sum_j(u_j - u_i)
"""
# GREAD-style reaction-diffusion: learnable diffusion alpha (L) and reaction beta (N: -beta u^2)
GREAD = """model gread_learn
field u : node[d]
learn alpha = 0.8
learn beta = 1.5
dt(u) = alpha * sum_j(u_j - u_i) + beta * u * (1 - u)
"""
REVERSED = GREAD.replace("dt(u) = alpha * sum_j(u_j - u_i) + beta * u * (1 - u)",
                         "dt(u) = -(alpha * sum_j(u_j - u_i) + beta * u * (1 - u))")
IMEX = [m for m, t in IMEX_TABLEAUS.items() if not t.fully_implicit and not t.linearised]
ALL = [m for m, t in IMEX_TABLEAUS.items() if not t.linearised]
#: the methods on the whole Jacobian (integrate.linearised, integrate.rosenbrock) have no adjoint
WHOLE_JACOBIAN = [m for m, t in IMEX_TABLEAUS.items() if t.linearised] + \
    list(ROSENBROCK_TABLEAUS)




def _graph(n=8):
    _, ei = graphs.grid_graph((n, n), (0, 0), (1, 1), periodic=True)
    return torch.as_tensor(ei), n * n


def _setup(spec, d=2, seed=0):
    ei, n = _graph()
    f = compiler.compile(spec, ei, n, dims={"d": d})
    g = torch.Generator().manual_seed(seed)
    y0 = 0.5 + 0.3 * torch.rand(n, d, generator=g)
    w = torch.randn(n, d, generator=g)
    return f, y0, w


def _grads(f, y0, w, config, time=1.0, times=None):
    """Gradient of sum(w * y) (at T, or summed over ``times``) with respect to the field's
    parameters and y0, and the block."""
    f.zero_grad()
    x0 = y0.clone().requires_grad_()
    block = ODEBlock(f, time, config)
    y = block(x0, times)
    (w * (y if times is None else y.sum(0))).sum().backward()
    return torch.cat([p.grad.reshape(-1) for p in f.parameters()] + [x0.grad.reshape(-1)]), \
        block


def _close(a, b, rel):
    assert float((a - b).norm()) <= rel * float(b.norm()), (a, b)


def _config(method, **kw):
    tab = IMEX_TABLEAUS[method]
    step = None if tab.adaptive else 0.05
    return SolverConfig(method, rtol=1e-8, atol=1e-10, step_size=step, **kw)


@pytest.mark.parametrize("method", ALL)
@pytest.mark.slow
def test_adjoint_equals_backpropagation_heat(float64, method):
    """Graph heat with learnable diffusivity, every implicit / IMEX method."""
    f, y0, w = _setup(HEAT)
    direct, _ = _grads(f, y0, w, _config(method), time=2.0)
    adjoint, block = _grads(f, y0, w, _config(method, adjoint=True), time=2.0)
    _close(adjoint, direct, 1e-10)
    rep = block.adjoint_report
    assert rep["checkpoints"] == rep["forward"].steps and block.nfe_backward > 0
    assert rep["backward"]["solves"] > 0


@pytest.mark.parametrize("method", IMEX)
@pytest.mark.slow
def test_adjoint_equals_backpropagation_reaction_diffusion(float64, method):
    """GREAD-style reaction-diffusion with learnable alpha (diffusion) and beta (reaction),
    the IMEX methods, several output times (Hermite outputs inside steps) and reverse time
    (on the same flow with alpha, beta negated: diffusion backwards in time, well-posed)."""
    times = torch.tensor([0.0, 0.13, 0.5, 0.77, 1.0])
    for spec, ts in ((GREAD, times), (REVERSED, times.flip(0))):
        f, y0, w = _setup(spec)
        direct, _ = _grads(f, y0, w, _config(method), times=ts)
        adjoint, _ = _grads(f, y0, w, _config(method, adjoint=True), times=ts)
        _close(adjoint, direct, 1e-10)


@pytest.mark.parametrize("method", ["ark3", "ars443", "backward_euler"])
def test_adjoint_equals_finite_differences(float64, method):
    """Central differences of the discrete solve (fixed steps, so the same steps for every
    perturbation) in each parameter and in one direction of y0."""
    spec = HEAT if IMEX_TABLEAUS[method].fully_implicit else GREAD
    f, y0, w = _setup(spec)
    cfg = SolverConfig(method, step_size=0.1, linear_solver="direct")
    grad, _ = _grads(f, y0, w, SolverConfig(method, step_size=0.1, linear_solver="direct",
                                            adjoint=True))

    def J(y):
        with torch.no_grad():
            return float((w * ODEBlock(f, 1.0, cfg)(y)).sum())
    params = list(f.parameters())
    for k, p in enumerate(params):
        eps = 1e-5 * max(1.0, abs(p.item()))
        with torch.no_grad():
            p += eps
            jp = J(y0)
            p -= 2 * eps
            jm = J(y0)
            p += eps
        fd = (jp - jm) / (2 * eps)
        assert abs(fd - float(grad[k])) <= 1e-7 * abs(fd), (p, fd, float(grad[k]))
    v = torch.randn(y0.shape, generator=torch.Generator().manual_seed(1))
    fd = (J(y0 + 1e-5 * v) - J(y0 - 1e-5 * v)) / 2e-5
    ana = float((grad[len(params):] * v.reshape(-1)).sum())
    assert abs(fd - ana) <= 1e-7 * abs(fd)


@pytest.mark.parametrize("method", ["ark3", "ark4", "esdirk3", "esdirk4"])
@pytest.mark.slow
def test_adjoint_as_accurate_as_the_solution(float64, method):
    """Heat with learnable kappa against the exact gradient: y(T) = expm(kappa T Lap) y0, so
    dJ/dkappa = w . (T Lap y(T)) and dJ/dy0 = expm(kappa T Lap)^T w. The mean (the
    eigenvalue 0 of Lap) is integrated exactly by every method and would dominate ||y||, so it
    is removed from y0 and w: the relative errors then compare the modes the method
    approximates (with it, the gradient's relative error is some 35 times e_y)."""
    f, y0, w = _setup(HEAT)
    y0, w = y0 - y0.mean(0), w - w.mean(0)
    ei, n = _graph()
    lap = sps.csr_matrix((np.ones(ei.shape[1]), (ei[1].numpy(), ei[0].numpy())), shape=(n, n))
    lap = lap - sps.diags(np.asarray(lap.sum(1)).ravel())          # sum_j (u_j - u_i)
    T, kappa, rtol = 2.0, next(f.parameters()).item(), 1e-7
    yT = expm_multiply(kappa * T * lap, y0.numpy())
    exact = np.concatenate([[float((w.numpy() * (T * (lap @ yT))).sum())],
                            expm_multiply(kappa * T * lap.T, w.numpy()).reshape(-1)])
    grad, _ = _grads(f, y0, w, SolverConfig(method, rtol=rtol, atol=rtol * 1e-2, adjoint=True),
                     time=T)
    with torch.no_grad():
        y = ODEBlock(f, T, SolverConfig(method, rtol=rtol, atol=rtol * 1e-2))(y0)
    e_y = np.linalg.norm(y.numpy() - yT) / np.linalg.norm(yT)
    err = np.linalg.norm(grad.numpy() - exact) / np.linalg.norm(exact)
    assert err <= 3 * (e_y + rtol), (err, e_y)


def _saved_bytes(f, y0, w, config, time):
    """Bytes autograd saves during the forward solve (saved_tensors_hooks) and the block."""
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t
    x0 = y0.clone().requires_grad_()
    block = ODEBlock(f, time, config)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = block(x0)
    (w * y).sum().backward()
    return sum(saved), block


@pytest.mark.slow
def test_adjoint_keeps_one_state_per_step_and_no_graph(float64):
    """Direct backpropagation saves the stage graphs of every step (growing with the number of
    steps); the adjoint saves nothing in the autograd graph during the solve and keeps one
    state [N, D] per accepted step."""
    f, y0, w = _setup(GREAD)
    state = y0.numel() * y0.element_size()
    kept = []
    for T in (1.0, 4.0):
        direct, _ = _saved_bytes(f, y0, w, _config("ark3"), T)
        adjoint, block = _saved_bytes(f, y0, w, _config("ark3", adjoint=True), T)
        steps = block.adjoint_report["checkpoints"]
        assert steps == block.adjoint_report["forward"].steps > 2
        assert direct >= 4 * steps * state     # several stage tensors per step
        assert adjoint <= 8 * state            # what prepare saves (y0, the constants)
        kept.append((steps, adjoint))
    assert kept[1][0] > 2 * kept[0][0] and kept[1][1] == kept[0][1]    # not the steps


def test_adjoint_options_and_refusals(float64):
    f, y0, w = _setup(GREAD)
    with pytest.raises(OptionError, match="adjoint_method"):
        SolverConfig("ark3", adjoint=True, adjoint_method="dopri5")
    SolverConfig("ark4", adjoint=True, adjoint_method="ark4")
    with pytest.raises(OptionError, match="IMEX method"):
        ODEBlock(f, 1.0, SolverConfig("esdirk3", adjoint=True))(y0)
    with pytest.raises(OptionError, match="pde2gnn integrator"):
        SolverConfig("ark3", integrator="torchdiffeq")


@pytest.mark.parametrize("method", ["ark3", "ark4"])
@pytest.mark.slow
def test_adjoint_matches_explicit_path_at_small_alpha(float64, method):
    """GREAD-style flow on a graph at small diffusion (alpha = 0.01): the adjoint gradients
    through the IMEX solve match direct backpropagation through dopri5 to 1e-5 (both solves at
    rtol 1e-10, so each gradient is within about 1e-9 of the exact one)."""
    f, y0, w = _setup(GREAD.replace("learn alpha = 0.8", "learn alpha = 0.01"))
    tight = dict(rtol=1e-10, atol=1e-12, max_nfe=10 ** 5)
    ref, _ = _grads(f, y0, w, SolverConfig("dopri5", **tight))
    grad, _ = _grads(f, y0, w, SolverConfig(method, adjoint=True, **tight))
    _close(grad, ref, 1e-5)


@pytest.mark.parametrize("method", WHOLE_JACOBIAN)
def test_adjoint_of_a_method_on_the_whole_jacobian_is_refused(method):
    with pytest.raises(OptionError, match="adjoint"):
        SolverConfig(method=method, adjoint=True)
