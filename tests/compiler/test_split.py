"""The split f(t, y) = L y + N(t, y) as a compiler product: for library specs on a small
graph, L y + N = f, the probed CSR matrix and diagonal agree with the generated ``linear``,
L^T agrees with the matrix' transpose, and affine specs have a constant N."""
import numpy as np
import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.graph import construction as graphs
from pde2gnn.cli.commands import main
from tests.helpers.specs import ALL_SPECS, ROOT

SPECS = {"heat": {"d": 2}, "grand": {"d": 4, "k": 4}, "graff": {"d": 3},
         "allen_cahn": {"d": 1}, "fisher": {"d": 2}, "convection_diffusion": {"d": 2}}
CH = """model ch
domain pos : [0, 1] x [0, 1] periodic scheme=grid
field c : node
param g = 0.001
dt(c) = lap(c^3 - c - g*lap(c))
"""
#: boundary conditions: the linear rows (Dirichlet elimination, Robin's -a/b u) stay in L, the
#: prescribed values (here time-dependent) are sources in N, added inside the sparse product
BC = """model heat_bc
domain pos : [0, 1] x [0, 1] scheme=grid
field u : node
bc u : x = 0 dirichlet(sin(t) * y)
bc u : y = 1 robin(1, 2, cos(t))
bc u : walls neumann(0.5)
dt(u) = lap(u) + u - u^3
"""
#: a Robin condition whose b depends on t: its u term (-S a / (b + a d) u, evaluated on the
#: face rows only, backend/sources.py) is in N, since L is frozen within a solve
BC_T = BC.replace("robin(1, 2, cos(t))", "robin(1 + x, 2 + sin(t), cos(t))")


def _field(spec, dims):
    periodic = spec not in (BC, BC_T)
    pos, ei = graphs.grid_graph((6, 6), (0, 0), (1, 1), periodic=periodic)
    domain = compiler.stages(spec).checked.spec.statements
    inputs = {"pos": torch.tensor(pos)} if any(type(s).__name__ == "DomainDecl" for s in domain) \
        else None
    return compiler.compile(spec, torch.as_tensor(ei), 36, dims=dims, inputs=inputs)


@pytest.mark.parametrize("spec", list(SPECS) + [CH, BC, BC_T])
def test_split_identities(spec):
    torch.manual_seed(0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        f = _field(spec, SPECS.get(spec))
        y = torch.randn(36, f.state_width)
        f.prepare(y)
        t = torch.tensor(0.3)     # time-dependent boundary values are non-zero there
        scale = float(f(t, y).detach().abs().max()) + 1.0
        assert float((f.linear(y) + f.rest(t, y) - f(t, y)).detach().abs().max()) < 1e-12 * scale
        M = f.matrix()
        ly = f.linear(y).detach().reshape(-1).numpy()
        assert np.abs(M @ y.reshape(-1).numpy() - ly).max() < 1e-12 * scale
        v = torch.randn_like(y)
        assert np.abs(M.T @ v.reshape(-1).numpy() - f.linear_t(v).detach().reshape(-1).numpy()).max() \
            < 1e-12 * scale
        assert np.abs(M.diagonal() - f.diag().detach().reshape(-1).numpy()).max() < 1e-12 * scale
        if f.affine:       # N constant in y
            assert torch.allclose(f.rest(t, y).detach(), f.rest(t, 2 * y + 1).detach(),
                                  atol=1e-12 * scale)
    finally:
        torch.set_default_dtype(old)


def test_explain_split(capsys, tmp_path):
    p = tmp_path / "ch.pde"
    p.write_text(CH)
    assert main(["explain", str(p), "--stage", "split"]) in (0, None)
    out = capsys.readouterr().out
    assert "# L y (implicit part" in out and "c**3" in out and "def linear(" in out


@pytest.mark.parametrize("path", [p for p in ALL_SPECS if not compiler.front(str(p)).discrete],
                         ids=lambda p: p.stem)
def test_split_exact_for_every_library_spec(path):
    """L y + N(t, y) = f(t, y) to 1e-12 of |f| for every continuous library / experiment
    spec, on test_reference's random graph with random learnables."""
    from tests.compiler.test_reference import N, compiled_field
    gen = torch.Generator().manual_seed(5)
    f = compiled_field(path, gen)
    y0 = torch.randn(N, f.state_width, generator=gen, dtype=torch.float64)
    y = y0 + 0.1 * torch.randn(N, f.state_width, generator=gen, dtype=torch.float64)
    t = torch.tensor(0.3, dtype=torch.float64)
    with torch.no_grad():
        f.prepare(y0)
        full = f(t, y)
        full = full[0] if isinstance(full, tuple) else full
        scale = float(full.abs().max()) + 1.0
        assert float((f.linear(y) + f.rest(t, y) - full).abs().max()) <= 1e-12 * scale


@pytest.mark.parametrize("spec", ["gread_f", "gread_ac", "gread_z", "acmp"])
def test_per_channel_diffusion_rate_is_in_L(spec):
    """``sigmoid(alpha) * sum_j(...)`` with alpha ``[d]`` (a per-channel rate) is a group of L
    scaled channel-wise: N is node-local (a change at one node changes N there only, up to rounding), and L's
    matrix couples no channels (the direct solver factorises per channel block)."""
    from pde2gnn.integrate.blocklu import channel_blocks
    from tests.compiler.test_reference import N, compiled_field
    gen = torch.Generator().manual_seed(7)
    f = compiled_field(ROOT / "library" / f"{spec}.pde", gen)
    y = torch.randn(N, f.state_width, generator=gen, dtype=torch.float64)
    t = torch.tensor(0.0, dtype=torch.float64)
    with torch.no_grad():
        f.prepare(y)
        dy = torch.zeros_like(y)
        dy[0] = 0.5
        change = (f.rest(t, y + dy) - f.rest(t, y)).abs().sum(dim=1)
        # (N = f - L y: elsewhere a change at the rounding of f only)
        scale = float(f(t, y).abs().max()) + 1.0
        assert float(change[0]) > 1e-3 and float(change[1:].max()) <= 1e-12 * scale
        M = f.matrix()
        assert abs(M).sum() > 0 and channel_blocks(M, f.state_width) is not None
    assert "sigmoid(alpha)] * (sum_j" in f.program.split.description
