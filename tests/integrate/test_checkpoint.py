"""Per-step gradient checkpointing (SolverConfig(checkpoint=True)): the same loss and gradients
as direct backpropagation, with the tensors autograd keeps reduced to the steps' inputs."""
import pytest
import torch

from pde2gnn.compiler.pipeline import compile
from pde2gnn.errors import OptionError
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

from tests.helpers.graphs import random_graph


def _saved_bytes(fn):
    """Bytes of the tensors autograd saves for backward while ``fn()`` runs (views of one
    storage counted once)."""
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(seen.values())


@pytest.mark.parametrize("spec,dims", [("grand", {"d": 8, "k": 4}), ("graff", {"d": 8})])
def test_checkpointed_gradients_equal_direct_and_keep_one_state_per_step(spec, dims):
    ei, n = random_graph(40)
    torch.manual_seed(0)
    field = compile(spec, ei, n, dims).double()
    x = torch.randn(n, field.state_width, dtype=torch.float64, requires_grad=True)
    state = x.numel() * x.element_size()
    results = {}
    for ck in (False, True):
        saved = []
        for steps in (16, 32):
            block = ODEBlock(field, 1.0, SolverConfig("rk4", step_size=1 / steps,
                                                      checkpoint=ck))
            out, b = _saved_bytes(lambda: block(x))
            saved.append(b)
            assert block.nfe_forward == 4 * steps
        loss = out.square().sum()
        results[ck] = (loss.detach(), torch.autograd.grad(loss, [x, *field.parameters()]),
                       (saved[1] - saved[0]) / 16)          # bytes kept per step
    (l0, g0, per0), (l1, g1, per1) = results[False], results[True]
    assert abs(float(l1 - l0)) <= 1e-12 * abs(float(l0))
    for a, b in zip(g0, g1):
        assert (a - b).abs().max() <= 1e-12 * max(a.abs().max(), 1e-300)
    # checkpointed: the step's input state (and the 0-dim t0, dt); direct: at least the
    # state of each of the 4 stages, which the sparse products save for their backward
    assert state <= per1 <= state + 64, (per1, state)
    assert per0 >= 4 * state, (per0, state)


def test_checkpoint_needs_a_fixed_step_method():
    with pytest.raises(OptionError, match="checkpoint"):
        SolverConfig("dopri5", checkpoint=True)
    with pytest.raises(OptionError, match="checkpoint"):
        SolverConfig("rk4", checkpoint=True, compile=True)
