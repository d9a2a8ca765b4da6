"""A compiled vector field split over torch.distributed ranks, and its solve.

:class:`PartitionedField` takes the :class:`~pde2gnn.compiler.backend.module.VectorField` of a
whole graph (built on every rank: the index structure, inputs and geometric weights of the
whole graph are read once, on the host) and keeps, on this rank, a copy restricted to the
rank's :class:`~pde2gnn.graph.partition.HaloPlan`: owned nodes plus one-hop halo, the edges
ending at owned nodes, the inputs and static weights of those, the same parameters. Its state
is the owned rows only, ``[N_own, D]``; each evaluation pads the halo rows, runs the generated
code on :class:`~pde2gnn.graph.halo.HaloGraphOps` (which exchanges the halo before every
product that reads neighbours) and returns the owned rows of f(t, y).

:func:`partitioned_solve` integrates it with the Runge-Kutta loop of
:mod:`pde2gnn.integrate.rk`, whose error norm is reduced over the ranks
(:func:`~pde2gnn.graph.halo.reduced_rms`): every rank accepts and rejects the same steps, so
the solution equals the one-process solve up to the summation order.
"""
from __future__ import annotations

import copy
from typing import Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from pde2gnn.errors import OptionError
from pde2gnn.compiler.lang.kinds import Kind
from pde2gnn.graph.halo import HaloGraphOps, check_supported, reduced_rms
from pde2gnn.graph.partition import halo_plans, metis_parts


class PartitionedField(nn.Module):
    """One rank's part of a compiled vector field (module docstring).

    Args:
        field: the field on the whole graph (same parameters on every rank).
        membership: owner rank of every node ``[N]`` (:func:`~pde2gnn.graph.partition.
            metis_parts`), the same on every rank.
        rank: this process's rank (default: torch.distributed's).
        group: process group (None: the default).
        overlap: overlap the exchange with the interior rows' product (no-grad solves).

    Attributes:
        local: the restricted :class:`VectorField` (on ``N_local`` = owned + halo nodes).
        plan: this rank's :class:`~pde2gnn.graph.partition.HaloPlan`; ``plans``: every rank's.
        graph: ``local.graph``, the :class:`HaloGraphOps` (``stats``: bytes and exchange time).

    Raises:
        OptionError: a discrete-time spec, or a kernel with no partitioned form (named).
    """

    def __init__(self, field, membership: np.ndarray, rank: Optional[int] = None, group=None,
                 overlap: bool = True):
        super().__init__()
        ir = field.program.ir
        if ir.discrete:
            raise OptionError(f"spec '{ir.name}' is a discrete-time model: a partitioned solve "
                              "(--partition) integrates continuous ones")
        g = field.graph
        check_supported(field.source, getattr(g, "_geo64", {}), ir.name)
        rank = dist.get_rank(group) if rank is None else rank
        self.plans = halo_plans(g.i.cpu().numpy(), g.j.cpu().numpy(), np.asarray(membership))
        if len(self.plans) != dist.get_world_size(group):
            raise OptionError(f"the partition has {len(self.plans)} parts but {dist.get_world_size(group)} "
                              "processes run: --partition must equal torchrun's --nproc-per-node")
        self.plan = plan = self.plans[rank]
        nodes = torch.as_tensor(plan.nodes)
        hg = HaloGraphOps(plan, g.counts.cpu()[nodes], group, overlap)
        sel = torch.as_tensor(plan.edges)[hg.edge_perm]          # local CSR -> global CSR
        if getattr(g, "_geo64", None):
            hg.set_geometry({k: (v[sel] if v.shape[0] == g.num_edges else v[nodes]).reshape(-1)
                             for k, v in g._geo64.items()})
        hg = hg.to(device=g.deg.device, dtype=g.deg.dtype)
        local = copy.deepcopy(field)
        local.graph = hg
        consts = ir.constants
        for name, x in list(local._given.items()):
            base = name[:-len("__times")] if name.endswith("__times") else name
            if name != base:
                continue
            edge = consts.inputs[base].kind == Kind.EDGE if base in consts.inputs else False
            x = x.index_select(x.dim() - 2, (sel if edge else nodes).to(x.device))
            local._given[name] = x
            local.inputs.register_buffer(name, x.to(hg.deg), persistent=False)
        local._static_cache = local._solve_cache = None
        self.local, self.graph = local, hg
        self.num_owned = plan.num_owned
        self.register_buffer("owned", nodes[:plan.num_owned].clone(), persistent=False)
        self._buffer: Optional[Tensor] = None

    def scatter(self, y: Tensor) -> Tensor:
        """This rank's rows of a whole-graph tensor ``[..., N, D]`` -> ``[..., N_own, D]``."""
        return y.index_select(y.dim() - 2, self.owned.to(y.device))

    def _pad(self, y: Tensor) -> Tensor:
        halo = y.new_zeros(*y.shape[:-2], self.graph.num_nodes - self.num_owned, y.shape[-1])
        return torch.cat([y, halo], dim=-2)

    def _padded(self, y: Tensor) -> Tensor:
        """y with room for the halo rows, ``[..., N_local, D]``. Without autograd, in a buffer
        kept across evaluations (owned rows copied in; the exchange receives into the halo
        rows): a fresh [N_local, D] tensor per evaluation cost about a quarter of a rank's
        compute in page faults and zero-filling (benchmarks/scale.py --part partition)."""
        if torch.is_grad_enabled() or y.requires_grad:
            return self._pad(y)
        shape = (*y.shape[:-2], self.graph.num_nodes, y.shape[-1])
        buf = self._buffer
        if buf is None or buf.shape != shape or buf.dtype != y.dtype or buf.device != y.device:
            buf = self._buffer = y.new_zeros(shape)
        buf.narrow(-2, 0, self.num_owned).copy_(y)
        return buf

    def prepare(self, y0: Tensor) -> None:
        """The per-solve constants from this rank's y(0) ``[..., N_own, D]`` (collective)."""
        self.local.prepare(self._pad(y0))

    def forward(self, t: Tensor, y: Tensor) -> Tensor:
        """f(t, y) on the owned rows, ``[..., N_own, D]`` -> ``[..., N_own, D]`` (collective)."""
        out = self.local(t, self._padded(y)).narrow(-2, 0, self.num_owned)
        buf = self._buffer
        if buf is not None and out.untyped_storage().data_ptr() == \
                buf.untyped_storage().data_ptr():      # the field returned (a view of) y
            out = out.clone()
        return out

    def gather(self, y: Tensor, dst: int = 0) -> Optional[Tensor]:
        """Every rank's owned rows ``[..., N_own, D]`` joined into the whole graph's
        ``[..., N, D]`` on rank ``dst`` (None on the others); a collective."""
        group = self.graph.group
        width = max(p.num_owned for p in self.plans)
        lead = y.shape[:-2]
        pad = torch.cat([y, y.new_zeros(*lead, width - y.shape[-2], y.shape[-1])], -2)
        pad = pad.contiguous()
        me = dist.get_rank(group)
        parts = [torch.empty_like(pad) for _ in self.plans] if me == dst else None
        dist.gather(pad, parts, dst=dst, group=group)
        if me != dst:
            return None
        n = sum(p.num_owned for p in self.plans)
        out = y.new_empty(*lead, n, y.shape[-1])
        for p, part in zip(self.plans, parts):
            idx = torch.as_tensor(p.nodes[:p.num_owned], device=y.device)
            out.index_copy_(out.dim() - 2, idx, part.narrow(-2, 0, p.num_owned))
        return out


def check_partitioned(config) -> None:
    """Refuse what a partitioned solve cannot do, naming the option.

    Runs: the explicit Runge-Kutta methods of the pde2gnn integrator (direct backpropagation),
    per-step ``checkpoint`` (fixed-step methods), ``adjoint`` (torchdiffeq's
    ``odeint_adjoint``, step control on all-reduced norms).

    Raises:
        OptionError: an implicit / IMEX / Rosenbrock or torchdiffeq-only method, ``compile``,
            ``auto_memory``, or ``integrator = torchdiffeq`` without the adjoint.
    """
    from pde2gnn.integrate.rk import TABLEAUS
    where = "a partitioned solve (--partition)"
    if config.method not in TABLEAUS:
        raise OptionError(f"method '{config.method}' is not supported by {where}: it runs the "
                          f"explicit Runge-Kutta methods {', '.join(TABLEAUS)}; implicit / "
                          "IMEX and Rosenbrock methods would need all-reduced dot products in "
                          "their linear solvers (not implemented)")
    for option, on in (("compile", config.compile), ("auto_memory", config.auto_memory)):
        if on:
            raise OptionError(f"{option} is not supported by {where}: choose direct "
                              "backpropagation, checkpoint or adjoint yourself"
                              if option == "auto_memory" else
                              f"{option} is not supported by {where}: the halo exchanges "
                              "are collectives that torch.compile does not trace")
    if config.integrator != "pde2gnn" and not config.adjoint:
        raise OptionError(f"integrator '{config.integrator}' is not supported by {where} "
                          "(only for its adjoint): use the pde2gnn integrator")
    if config.adjoint_method not in (None, config.method) and \
            config.adjoint_method not in TABLEAUS:
        raise OptionError(f"adjoint_method '{config.adjoint_method}' is not supported by "
                          f"{where}: choose one of {', '.join(TABLEAUS)}")


def partitioned_solve(pfield: PartitionedField, y0: Tensor, t: Sequence[float], config,
                      report: Optional[dict] = None):
    """Integrate a :class:`PartitionedField` from this rank's y(0) ``[..., N_own, D]`` over
    output times ``t`` with ``config`` (a :class:`~pde2gnn.integrate.solver_config.
    SolverConfig`); a collective. Differentiable, three ways as in one process:

    - direct backpropagation through the Runge-Kutta loop of :mod:`pde2gnn.integrate.rk`
      (the halo exchanges' autograd sends the halo rows' gradients to their owners);
    - ``checkpoint`` (fixed-step methods): per-step gradient checkpointing
      (:class:`~pde2gnn.integrate.compiled.CompiledStep` uncompiled); each rank recomputes
      its own steps in the backward pass, exchanging the halo again;
    - ``adjoint``: torchdiffeq's ``odeint_adjoint`` (Chen et al. 2018) on the partitioned
      field, with the per-solve constants cut from their history as in one process
      (:func:`pde2gnn.integrate.rk_adjoint.odeint_adjoint_solve`). The forward step control uses the
      all-reduced RMS norm; the backward one torchdiffeq's seminorm (Kidger et al. 2021,
      "Hey, that's not an ODE") over t, the state and its adjoint, all-reduced, because the
      parameters' adjoints are partial sums on each rank. Equal to one process run with
      ``adjoint_options = {"norm": "seminorm"}``; the parameters' gradients are the sum of
      the ranks' (all-reduce them before the optimiser step).

    ``report`` (a dict), with the adjoint: gets ``counter``, whose ``nfe`` counts the forward
    and (after ``backward``) the backward evaluations.

    Returns:
        :class:`~pde2gnn.integrate.rk.Solution` with ``ys [len(t), ..., N_own, D]``, the same
        NFE and steps on every rank (``steps`` / ``rejected`` None with the adjoint, whose
        torchdiffeq solver does not report them).

    Raises:
        OptionError: what :func:`check_partitioned` refuses.
        SolverError: more than ``max_nfe`` evaluations, step-size underflow.
    """
    from pde2gnn.integrate.rk import TABLEAUS, Solution, rk_solve
    check_partitioned(config)
    name = f"'{pfield.local.program.ir.name}'"
    norm = reduced_rms(pfield.graph.group)
    pfield.prepare(y0)
    if config.adjoint:
        from pde2gnn.integrate.rk_adjoint import odeint_adjoint_solve
        from pde2gnn.integrate.solve import _Counted
        counted = _Counted(pfield, config.max_nfe, name)
        if report is not None:
            report["counter"] = counted
        opts = config.options()
        adaptive = TABLEAUS[config.method].adaptive
        method = config.adjoint_method or config.method
        kwargs = dict(rtol=config.rtol, atol=config.atol, method=config.method,
                      options={**opts, "norm": norm} if adaptive else opts,
                      adjoint_method=method, adjoint_options={**opts, "norm": "seminorm"}
                      if TABLEAUS[method].adaptive else opts, **config.adjoint_tolerances())
        tt = torch.as_tensor([float(v) for v in t], dtype=y0.dtype, device=y0.device)
        ys = odeint_adjoint_solve(pfield.local, counted, y0, tt, kwargs)
        return Solution(ys, counted.nfe, None, None)
    if config.checkpoint:
        from pde2gnn.integrate.compiled import CompiledStep, solve_fixed
        step = CompiledStep(pfield, config.method, compile=False, checkpoint=True)
        ys, nfe = solve_fixed(step, y0, t, config.step_size, config.max_nfe, name)
        return Solution(ys, nfe, nfe // TABLEAUS[config.method].stages, 0)
    return rk_solve(pfield, y0, t, method=config.method, rtol=config.rtol, atol=config.atol,
                    step_size=config.step_size, max_nfe=config.max_nfe, name=name, norm=norm)


class PartitionedODE(nn.Module):
    """The ODE block of one rank: :func:`partitioned_solve` of a :class:`PartitionedField`
    from t = 0 to ``time``, in place of :class:`~pde2gnn.integrate.solve.ODEBlock` (same
    ``forward`` and NFE attributes) in a model whose encoder and decoder are node-wise.

    ``forward(y0 [N_own, D], times=None)`` -> y(T) ``[N_own, D]``, or ``[K, N_own, D]`` at
    ``times [K]`` (from 0, increasing); a collective.

    Raises:
        OptionError: what :func:`check_partitioned` refuses (at construction).
        SolverError: a non-finite solution (on every rank: the check is all-reduced).
    """

    def __init__(self, pfield: PartitionedField, time: float, config):
        super().__init__()
        check_partitioned(config)
        self.pfield, self.field = pfield, pfield.local
        self.time, self.config = float(time), config
        self.nfe_forward = self.nfe_linear = self.linear_iterations = 0
        self.steps = self.rejected = None
        self._report: dict = {}

    @property
    def nfe_backward(self) -> int:
        """Evaluations of the last backward pass (adjoint only; else 0)."""
        c = self._report.get("counter")
        return 0 if c is None else c.nfe - self.nfe_forward

    def forward(self, y0: Tensor, times: Optional[Tensor] = None) -> Tensor:
        from pde2gnn.errors import SolverError
        t = [0.0, self.time] if times is None else [float(v) for v in times]
        self._report = {}
        sol = partitioned_solve(self.pfield, y0, t, self.config, self._report)
        self.nfe_forward, self.steps, self.rejected = sol.nfe, sol.steps, sol.rejected
        bad = torch.tensor([0.0 if bool(torch.isfinite(sol.ys).all()) else 1.0])
        dist.all_reduce(bad, group=self.pfield.graph.group)
        if bad.item():
            raise SolverError(f"the partitioned solve of '{self.field.program.ir.name}' "
                              f"produced non-finite values ({self.config.method}, {sol.nfe} "
                              "evaluations): reduce the time or the learning rate")
        return sol.ys[-1] if times is None else sol.ys


#: id(whole field) -> (field, its PartitionedField) for :func:`solve_whole`
_FIELDS: dict = {}


def start(parts: int, device: str = "cpu") -> int:
    """Join torchrun's process group for ``--partition parts`` (gloo on CPU, NCCL on CUDA);
    returns this rank. Each process keeps at most its share of the CPU cores as torch threads
    (cores // processes on this machine, at least 1): two ranks of two OpenMP threads each on
    a two-core machine would wait on each other's cores at every kernel.

    Raises:
        OptionError: not started by torchrun, or ``parts`` differs from its process count.
    """
    import os
    size = int(os.environ.get("WORLD_SIZE", 0))
    if "MASTER_ADDR" not in os.environ or size != parts:
        raise OptionError(f"--partition {parts} runs under torchrun with as many processes: "
                          f"torchrun --standalone --nproc-per-node {parts} -m pde2gnn ... "
                          f"--partition {parts} (WORLD_SIZE is {size or 'unset'})")
    local = int(os.environ.get("LOCAL_WORLD_SIZE", size))
    torch.set_num_threads(min(torch.get_num_threads(), max(1, (os.cpu_count() or 1) // local)))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if str(device).startswith("cuda") else "gloo")
    return dist.get_rank()


def solve_whole(field, y0: Tensor, t: Tensor, config):
    """The partitioned solve of a whole-graph y(0) ``[..., N, D]`` (the same on every rank)
    with METIS parts, one per rank (cached on the field): ``(ys [len(t), ..., N, D] on rank 0,
    None elsewhere; NFE)``. A collective.

    Raises:
        SolverError: a non-finite solution (on rank 0).
    """
    from pde2gnn.errors import SolverError
    world = dist.get_world_size()
    cached = _FIELDS.get(id(field))
    if cached is None or cached[0] is not field or cached[1].plan.parts != world:
        g = field.graph
        membership = metis_parts(g.i.cpu().numpy(), g.j.cpu().numpy(), g.num_nodes, world)
        cached = _FIELDS[id(field)] = (field, PartitionedField(field, membership))
    cached = cached[1]
    with torch.no_grad():
        sol = partitioned_solve(cached, cached.scatter(y0), [float(v) for v in t], config)
        ys = cached.gather(sol.ys)
    if ys is not None and not bool(torch.isfinite(ys).all()):
        raise SolverError(f"the partitioned solve of '{field.program.ir.name}' produced "
                          f"non-finite values ({config.method}, {sol.nfe} evaluations)")
    return ys, sol.nfe
