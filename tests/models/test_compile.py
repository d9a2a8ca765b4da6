"""torch.compile of compiled fields and of PDEConv: traced once, same values and gradients.

The eager CSR product is not traceable (dynamo cannot create sparse tensors); under
``torch.compile`` the graph kernels call it through the custom operator
``torch.ops.pde2gnn.csr_mm`` (``backend/csr_op.py``), opaque to the tracer, so the vector field
is one graph without breaks. A counting
backend stands in for inductor, whose C++ build would take the suite ~30 s per model."""
import pytest
import torch
import torchdiffeq

from pde2gnn.compiler.pipeline import compile
from pde2gnn.models.pdeconv import PDEConv
from pde2gnn.integrate.solve import SolverConfig

from tests.helpers.graphs import random_graph


def _counting_backend():
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward
    return backend, graphs


@pytest.mark.parametrize("spec,dims", [("grand", {"d": 4, "k": 2}), ("graff", {"d": 4}),
                                       ("beltrami", {"d": 8, "k": 8})])
def test_vector_field_is_one_graph_under_odeint(spec, dims):
    torch._dynamo.reset()
    ei, n = random_graph(12)
    torch.manual_seed(0)
    f = compile(spec, ei, n, dims=dims).double()
    ts = torch.linspace(0, 1, 3, dtype=torch.float64)
    backend, graphs = _counting_backend()
    cf = torch.compile(f, fullgraph=True, backend=backend)
    for scale in (1.0, 2.0):          # a new x(0): no new graph
        x0 = (scale * torch.randn(n, f.state_width, dtype=torch.float64)).requires_grad_()
        f.prepare(x0)
        eager = torchdiffeq.odeint(f, x0, ts, method="dopri5", rtol=1e-8, atol=1e-8)
        g_eager = torch.autograd.grad(eager[-1].square().sum(), x0)[0]
        f.prepare(x0)
        out = torchdiffeq.odeint(cf, x0, ts, method="dopri5", rtol=1e-8, atol=1e-8)
        g_out = torch.autograd.grad(out[-1].square().sum(), x0)[0]
        assert (out - eager).abs().max() < 1e-12
        assert (g_out - g_eager).abs().max() < 1e-10
    assert len(graphs) == 1, f"{spec}: traced {len(graphs)} times"


@pytest.mark.slow
def test_compiled_pde_conv_gives_the_same_answer_and_does_not_recompile():
    torch._dynamo.reset()
    ei, n = random_graph(12)
    torch.manual_seed(0)
    conv = PDEConv("grand", time=1.0, solver=SolverConfig(method="rk4", step_size=0.25),
                   d=4, k=2).double()
    x = torch.randn(n, 4, dtype=torch.float64, requires_grad=True)
    eager = conv(x, ei)               # compiles the graph's operators (cached, not traced)
    backend, graphs = _counting_backend()
    compiled = torch.compile(conv, backend=backend)
    out = compiled(x, ei)
    traced = len(graphs)
    assert (out - eager).abs().max() < 1e-12
    g = torch.autograd.grad(out.sum(), x)[0]
    assert (g - torch.autograd.grad(conv(x, ei).sum(), x)[0]).abs().max() < 1e-12
    x2 = (2 * x).detach().requires_grad_()
    assert (compiled(x2, ei) - conv(x2, ei)).abs().max() < 1e-12
    assert len(graphs) == traced      # the second call reuses the compiled graphs
