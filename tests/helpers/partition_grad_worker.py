"""Part of the processes of tests/graph/test_partition.py::test_two_gloo_processes_equal_one:
the gradients of a loss on y(T) with respect to y(0) and the parameters, by direct
backpropagation, per-step checkpointing and the adjoint, on the ranks and in one process."""
import torch
import torch.distributed as dist

from pde2gnn import compiler
from pde2gnn.graph import construction
from pde2gnn.graph.partition import metis_parts
from pde2gnn.graph.partitioned import PartitionedField, partitioned_solve
from pde2gnn.integrate.rk import rk_solve
from pde2gnn.integrate.rk_adjoint import odeint_adjoint_solve
from pde2gnn.integrate.solve import _Counted
from pde2gnn.integrate.solver_config import SolverConfig

MODES = {
    "direct": SolverConfig(method="dopri5", rtol=1e-7, atol=1e-9),
    "checkpoint": SolverConfig(method="rk4", step_size=0.1, checkpoint=True),
    "adjoint": SolverConfig(method="dopri5", rtol=1e-7, atol=1e-9, adjoint=True,
                            integrator="torchdiffeq"),
}


def _rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


def _one_process(field, y0, times, cfg):
    """y at ``times`` in one process, differentiable as ``cfg`` says."""
    field.prepare(y0)
    if cfg.adjoint:
        t = torch.tensor(times, dtype=y0.dtype)
        kw = dict(rtol=cfg.rtol, atol=cfg.atol, method=cfg.method, options={},
                  adjoint_method=cfg.method, adjoint_options={"norm": "seminorm"})
        return odeint_adjoint_solve(field, _Counted(field, None, "one"), y0, t, kw)
    return rk_solve(field, y0, times, method=cfg.method, rtol=cfg.rtol, atol=cfg.atol,
                    step_size=cfg.step_size).ys


def gradient_cases(rank, world):
    """Run on every rank of an initialised group; rank 0 returns ``{case: largest relative
    differences}`` (solution, d/dy0, d/dparameters summed over the ranks), the others {}."""
    results = {}
    ei = construction.stochastic_block_model(120, 4, 6.0, seed=3)[0]
    for spec, dims in (("heat", {"d": 3}), ("grand", {"d": 4, "k": 3})):
        torch.manual_seed(0)
        field = compiler.compile(spec, ei, 120, dims).double()
        with torch.no_grad():
            for p in field.parameters():
                p.add_(0.3 * torch.randn_like(p))
        g = torch.Generator().manual_seed(1)
        y0 = torch.randn(120, field.state_width, generator=g, dtype=torch.float64)
        w = torch.randn(120, field.state_width, generator=g, dtype=torch.float64)
        part = PartitionedField(field, metis_parts(field.graph.i.numpy(),
                                                   field.graph.j.numpy(), 120, world))
        times = [0.0, 0.5, 1.0]
        for mode, cfg in MODES.items():
            field.zero_grad()
            part.zero_grad()
            y = y0.clone().requires_grad_(True)
            ys = _one_process(field, y, times, cfg)
            (w * ys[-1]).pow(2).sum().backward()
            mine = part.scatter(y0).clone().requires_grad_(True)
            sol = partitioned_solve(part, mine, times, cfg)
            (part.scatter(w) * sol.ys[-1]).pow(2).sum().backward()
            ys_p, grad = part.gather(sol.ys.detach()), part.gather(mine.grad)
            pgrad, count = 0.0, 0
            for pm, pw in zip(part.local.parameters(), field.parameters()):
                s = torch.zeros_like(pw) if pm.grad is None else pm.grad.clone()
                dist.all_reduce(s)
                pgrad, count = max(pgrad, _rel(s, pw.grad)), count + 1
            if rank == 0:
                results[f"{spec} {mode}"] = {"solve": _rel(ys_p, ys.detach()),
                                             "grad": _rel(grad, y.grad), "param_grad": pgrad,
                                             "params": count, "nfe": sol.nfe}
    return results
