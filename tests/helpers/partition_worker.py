"""The processes of tests/graph/test_partition.py: each rank evaluates and solves library specs
partitioned (gloo) and in one process, and rank 0 writes the differences to a JSON file."""
import json
import os

import numpy as np
import torch
import torch.distributed as dist

from pde2gnn import compiler
from pde2gnn.graph import construction
from pde2gnn.graph.partition import metis_parts
from pde2gnn.graph.partitioned import PartitionedField, partitioned_solve
from pde2gnn.integrate.rk import rk_solve
from pde2gnn.integrate.solver_config import SolverConfig

SBM = dict(n=160, blocks=4, degree=6.0, seed=3)


def _grid(n=12):
    L = 32 * np.pi
    pos, ei = construction.grid_graph((n, n), (0.0, 0.0), (L, L), periodic=True)
    return ei, n * n, {"pos": torch.tensor(pos)}


WEIGHTED = """model weighted_heat
field x : node[d]
input w : edge[1]
input s : node[1]
dt(x) = div(w * grad(x)) - s * x
"""


def _directed():
    """The SBM with a third of its edges dropped (a directed graph), edge and node inputs."""
    ei = construction.stochastic_block_model(**SBM)[0]
    g = torch.Generator().manual_seed(4)
    ei = ei[:, torch.rand(ei.shape[1], generator=g) > 0.33]
    return ei, SBM["n"], {"w": torch.rand(ei.shape[1], 1, generator=g, dtype=torch.float64),
                          "s": torch.rand(SBM["n"], 1, generator=g, dtype=torch.float64)}


def cases():
    """(name, spec, dims, graph builder, solver config, time, state scale)."""
    sbm = lambda: (construction.stochastic_block_model(**SBM)[0], SBM["n"], {})  # noqa: E731
    pp = lambda: (sbm()[0], SBM["n"], {"label_mask": (torch.arange(SBM["n"]) % 3 == 0  # noqa
                                                     ).double().unsqueeze(1)})
    dopri = SolverConfig(method="dopri5", rtol=1e-6, atol=1e-8)
    return [
        ("heat", "heat", {"d": 3}, sbm, dopri, 1.0, 1.0),
        ("grand", "grand", {"d": 4, "k": 3}, sbm, dopri, 1.0, 1.0),
        ("beltrami", "beltrami", {"p": 2, "d": 3, "k": 4, "h": 2}, sbm, dopri, 1.0, 1.0),
        ("grand_pp", "grand_pp", {"d": 3, "k": 2}, pp, dopri, 1.0, 1.0),
        ("graff_dd_bn", "graff_dd_bn", {"d": 3}, sbm,
         SolverConfig(method="rk4", step_size=0.1), 0.5, 1.0),
        ("weighted_heat (directed)", WEIGHTED, {"d": 2}, _directed, dopri, 1.0, 1.0),
        ("kuramoto_sivashinsky", "kuramoto_sivashinsky", {"d": 2}, _grid, dopri, 20.0, 0.1),
    ]


def _rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


def worker(rank, world, store, out):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank,
                            world_size=world)
    results = {}
    try:
        for name, spec, dims, build, cfg, T, scale in cases():
            ei, n, inputs = build()
            torch.manual_seed(0)
            field = compiler.compile(spec, ei, n, dims, inputs=inputs).double()
            with torch.no_grad():
                for p in field.parameters():
                    p.add_(0.3 * torch.randn_like(p))
            g = torch.Generator().manual_seed(1)
            y0 = scale * torch.randn(n, field.state_width, generator=g, dtype=torch.float64)
            t = torch.tensor(0.3, dtype=torch.float64)
            membership = metis_parts(field.graph.i.numpy(), field.graph.j.numpy(), n, world)
            part = PartitionedField(field, membership)
            with torch.no_grad():
                field.prepare(y0)
                ref = field(t, y0)
                own = part.scatter(y0)
                part.prepare(own)
                got = part.gather(part(t, own))
                times = [0.0, T / 2, T]
                one = rk_solve(field, y0, times, method=cfg.method, rtol=cfg.rtol,
                               atol=cfg.atol, step_size=cfg.step_size)
                sol = partitioned_solve(part, own, times, cfg)
                ys = part.gather(sol.ys)
            # autograd through the exchanges: d/dy0 of a sum of squares of f
            y = own.clone().requires_grad_(True)
            part.prepare(y)
            (part(t, y) ** 2).sum().backward()
            grad = part.gather(y.grad)
            y_ref = y0.clone().requires_grad_(True)
            field.prepare(y_ref)
            (field(t, y_ref) ** 2).sum().backward()
            # the parameters' gradient of the global loss: the sum of the ranks' gradients
            pgrad = 0.0
            for mine, whole in zip(part.local.parameters(), field.parameters()):
                g_sum = torch.zeros_like(whole) if mine.grad is None else mine.grad.clone()
                dist.all_reduce(g_sum)
                want = torch.zeros_like(whole) if whole.grad is None else whole.grad
                pgrad = max(pgrad, float((g_sum - want).abs().max()
                                         / want.abs().max().clamp(min=1e-300)))
            if rank == 0:
                results[name] = {
                    "field": _rel(got, ref), "solve": _rel(ys, one.ys),
                    "grad": _rel(grad, y_ref.grad), "param_grad": pgrad,
                    "steps": [sol.steps, one.steps], "rejected": [sol.rejected, one.rejected],
                    "nfe": [sol.nfe, one.nfe], "halo": part.plan.halo_rows,
                    "owned": part.plan.num_owned, "interior": part.plan.num_interior}
        from tests.helpers.partition_grad_worker import gradient_cases
        grads = gradient_cases(rank, world)
        if rank == 0:
            with open(out, "w") as fh:
                json.dump({"fields": results, "gradients": grads}, fh)
    finally:
        dist.destroy_process_group()
