"""The options of a solve (:class:`SolverConfig`) and the method names they are checked
against, apart from the integrators (pde2gnn.integrate.solve) so that reading a spec's TOML
defaults loads neither torch nor torchdiffeq."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from pde2gnn.errors import OptionError
from pde2gnn.options import check_fields
from pde2gnn.integrate.imex_tableaus import IMEX_TABLEAUS, ROSENBROCK_TABLEAUS
from pde2gnn.integrate.tableaus import TABLEAUS

#: the linear solvers of implicit / IMEX stages (:mod:`pde2gnn.integrate.linsolve`)
LINEAR_SOLVERS = ("auto", "cg", "gmres", "direct")

#: torchdiffeq's fixed-grid Adams methods: they take one step per output interval without a
#: ``step_size`` and never look at rtol / atol (implicit_adams uses them only for its corrector)
ADAMS = ("explicit_adams", "implicit_adams", "fixed_adams")
#: stiffness rho T (of L, and of the Jacobian of N) above which ``method = "auto"`` leaves
#: dopri5 (:mod:`pde2gnn.integrate.auto`)
AUTO_STIFF = 200.0
#: ``method = "auto"`` keeps its choice for up to this many solves of one ODEBlock while the
#: learnable weights, |y(0)| and the time span move by at most 10 % (a training run: one
#: estimate per few epochs instead of one per solve; :meth:`ODEBlock._auto`)
AUTO_REUSE = 10

#: torchdiffeq's methods (``torchdiffeq.odeint``'s ``method`` argument, version 0.2).
TORCHDIFFEQ_METHODS = ("dopri8", "dopri5", "bosh3", "fehlberg2", "adaptive_heun", "euler",
                       "midpoint", "heun2", "heun3", "rk4", "explicit_adams", "implicit_adams",
                       "fixed_adams")
FIXED_STEP = ("euler", "midpoint", "heun2", "heun3", "rk4", "explicit_adams", "implicit_adams",
              "fixed_adams")
INTEGRATORS = ("pde2gnn", "torchdiffeq")


@dataclass
class SolverConfig:
    """How to integrate.

    Attributes:
        method: an explicit Runge-Kutta method of :data:`pde2gnn.integrate.rk.TABLEAUS` (``dopri5``,
            ``tsit5``, ``bosh3``, ``rk4``, ``euler``, ...), an implicit or IMEX method of
            :data:`pde2gnn.integrate.imex_tableaus.IMEX_TABLEAUS` (``ark3``, ``ark4``,
            ``ars232``, ``ars443``, ``esdirk3``, ``esdirk4``, ``backward_euler``,
            ``trapezoid``: L y implicit, N explicit; ``ark3j``, ``ark4j``: the same pairs with
            the whole Jacobian J(y_n) implicit; see docs/guide/stiff-solvers.md), a
            Rosenbrock method of
            :data:`pde2gnn.integrate.imex_tableaus.ROSENBROCK_TABLEAUS` (``ros34pw2``, a
            W-method; ``rodas4``, ``rodas5p``, without gradients),
            ``auto`` (``dopri5``, ``ark3`` or ``ros34pw2`` from rho(L) T, rho(J_N) T, the
            device and the graph's hubs: :mod:`pde2gnn.integrate.auto`; logged), or any
            other torchdiffeq method (the Adams methods only with ``step_size``).
        rtol, atol: tolerances of adaptive methods (relative, absolute).
        step_size: step of fixed-step methods (time units); ``None``: one step per output time.
        adjoint: backpropagate with the adjoint method: explicit methods by the continuous
            adjoint (O(1) memory in the number of steps; :mod:`pde2gnn.integrate.rk_adjoint`
            on the fused loop, torchdiffeq's ``odeint_adjoint`` with that integrator);
            implicit / IMEX methods by the discrete adjoint of the solve
            (:mod:`pde2gnn.integrate.imex_adjoint`: one state kept per step, no autograd
            graph; the gradients of direct backpropagation). A solve under ``torch.no_grad``
            (evaluation) takes no gradient, so an explicit one runs as without the adjoint.
        adjoint_method: method for the backward solve of an explicit method (default:
            ``method``); implicit / IMEX methods take none (their adjoint re-takes the forward
            steps).
        adjoint_rtol, adjoint_atol: tolerances of that backward solve when it is adaptive
            (default: ``rtol`` / ``atol``), as torchdiffeq's ``odeint_adjoint``; the GRAND /
            BLEND reference sets them apart (``tol_scale_adjoint``).
        max_nfe: raise :class:`SolverError` after this many evaluations in one solve.
        integrator: ``pde2gnn`` (the fused Runge-Kutta loop; methods it lacks, and adjoint
            solves, go to torchdiffeq) or ``torchdiffeq`` (always ``torchdiffeq.odeint``).
        affine: with the ``pde2gnn`` integrator, step an affine field (f = L y + c with L and
            c fixed during the solve, :attr:`VectorField.affine`) in the Krylov form: the same
            steps and NFE, one vector sum per step instead of one per stage
            (:func:`pde2gnn.integrate.rk.affine_step_source`). False: the stage form, as for any field.
        compile: with the ``pde2gnn`` integrator and no adjoint, ``torch.compile`` the solve
            (:mod:`pde2gnn.integrate.compiled`): fixed-step methods as whole compiled steps
            (field and stage sums in one graph), adaptive methods with the field compiled and
            the step-size control eager. Traced once per field, method, dtype and grad mode;
            the first call costs the compilation (tens of seconds on a CPU), logged.
        checkpoint: per-step gradient checkpointing, a third memory option beside direct
            backpropagation and the adjoint: autograd keeps each step's input state only and
            recomputes the step's stages in the backward pass (one more forward per step);
            fixed-step methods of the pde2gnn integrator, not with compile or adjoint.
        auto_memory: choose direct backpropagation, ``checkpoint`` or ``adjoint`` per solve
            from an estimate of the memory the backward pass needs (kept states x state bytes
            x steps, :mod:`pde2gnn.integrate.memory`) against the free memory; logged, and the
            numbers kept in ``ODEBlock.memory_estimate``. Explicit pde2gnn methods only. An
            adaptive solve whose steps shrink past the estimate's budget is redone with the
            adjoint (:class:`pde2gnn.integrate.memory.MemoryGuard`, logged).
        memory_limit: the memory (GiB) ``auto_memory`` may plan on (None: 80 % of what is free
            on the state's device).
        linear_solver: implicit / IMEX methods: ``auto``, ``cg``, ``gmres`` or ``direct``
            (:class:`pde2gnn.integrate.linsolve.StageSolver`).
        linear_maxiter: iterations of CG / GMRES per stage solve; an adaptive step whose solve
            fails is rejected and retried smaller (:mod:`pde2gnn.integrate.step_failure`),
            a fixed step raises a SolverError.

    Raises:
        OptionError: an unknown method or integrator, non-positive tolerances or step size;
            compile or checkpoint with the torchdiffeq integrator or the adjoint (checkpoint:
            also with an adaptive method or with compile).
    """

    method: str = "dopri5"
    rtol: float = 1e-3
    atol: float = 1e-4
    step_size: Optional[float] = None
    adjoint: bool = False
    adjoint_method: Optional[str] = None
    adjoint_rtol: Optional[float] = None
    adjoint_atol: Optional[float] = None
    max_nfe: int = 5000
    integrator: str = "pde2gnn"
    affine: bool = True
    compile: bool = False
    checkpoint: bool = False
    auto_memory: bool = False
    memory_limit: Optional[float] = None
    linear_solver: str = "auto"
    linear_maxiter: int = 2000

    def __post_init__(self):
        if self.integrator not in INTEGRATORS:
            raise OptionError(f"unknown integrator '{self.integrator}' (choose from "
                              f"{', '.join(INTEGRATORS)})")
        known = sorted(set(TORCHDIFFEQ_METHODS) | set(TABLEAUS)) + list(IMEX_TABLEAUS) + \
            list(ROSENBROCK_TABLEAUS) + ["auto"]
        for m in (self.method, self.adjoint_method):
            if m is not None and m not in known:
                raise OptionError(f"unknown ODE method '{m}' (choose from {', '.join(known)})")
        # the discrete adjoint of imex_adjoint re-takes the steps on the compiler's split; the
        # methods on the whole Jacobian (ark3j, ark4j; ros34pw2) step on another one
        own = self.method in IMEX_TABLEAUS and not IMEX_TABLEAUS[self.method].linearised
        if self.method not in TORCHDIFFEQ_METHODS and (self.integrator == "torchdiffeq"
                                                       or (self.adjoint and not own)):
            raise OptionError(f"method '{self.method}' exists only in the pde2gnn integrator "
                              "(not in torchdiffeq, so not with --integrator torchdiffeq or, "
                              "unless implicit / IMEX on the compiler's split, adjoint)")
        if self.adjoint and self.method in IMEX_TABLEAUS and \
                self.adjoint_method not in (None, self.method):
            raise OptionError(f"adjoint_method '{self.adjoint_method}' with method "
                              f"'{self.method}': the adjoint of an implicit / IMEX solve is "
                              "its discrete adjoint, which re-takes the forward steps with "
                              "the same method; leave adjoint_method unset")
        if self.compile and (self.integrator != "pde2gnn" or self.adjoint
                             or self.method not in TABLEAUS):
            raise OptionError("compile needs the pde2gnn integrator, no adjoint, and one of its "
                              f"methods ({', '.join(TABLEAUS)}); got integrator "
                              f"{self.integrator}, method {self.method}, adjoint {self.adjoint}")
        if self.checkpoint and (self.compile or self.adjoint or self.integrator != "pde2gnn"
                                or self.method not in TABLEAUS or TABLEAUS[self.method].adaptive):
            raise OptionError("checkpoint needs a fixed-step method of the pde2gnn integrator "
                              f"({', '.join(m for m, t in TABLEAUS.items() if not t.adaptive)}),"
                              f" without compile or adjoint; got method {self.method}")
        if self.auto_memory and (self.adjoint or self.checkpoint or self.compile
                                 or self.method not in TABLEAUS
                                 or self.integrator != "pde2gnn"):
            raise OptionError("auto_memory chooses adjoint or checkpoint itself, for an "
                              "explicit method of the pde2gnn integrator without compile; got "
                              f"method {self.method}, adjoint {self.adjoint}, checkpoint "
                              f"{self.checkpoint}, compile {self.compile}")
        if self.memory_limit is not None and not self.auto_memory:
            raise OptionError("memory_limit is the budget of auto_memory: set auto_memory too")
        if self.method in ADAMS and self.step_size is None:
            raise OptionError(f"method '{self.method}' (torchdiffeq's) cannot honour rtol / "
                              "atol: without step_size it takes one step per output interval, "
                              "whatever the error. Give step_size, or use an adaptive method "
                              "(dopri5, tsit5, or ark3 / ark4 for stiff problems)")
        if self.linear_solver not in LINEAR_SOLVERS:
            raise OptionError(f"unknown linear_solver '{self.linear_solver}' (choose from "
                              f"{', '.join(LINEAR_SOLVERS)})")
        if (self.adjoint_rtol, self.adjoint_atol) != (None, None) and not self.adjoint:
            raise OptionError("adjoint_rtol / adjoint_atol are the tolerances of the adjoint's "
                              "backward solve: set adjoint too")
        check_fields(self, ("rtol", "atol", "adjoint_rtol", "adjoint_atol", "step_size",
                            "max_nfe", "linear_maxiter", "memory_limit"))

    @property
    def fast(self) -> bool:
        """Whether solves run on :func:`pde2gnn.integrate.rk.rk_solve`."""
        return self.integrator == "pde2gnn" and not self.adjoint and self.method in TABLEAUS

    @property
    def imex(self) -> bool:
        """Whether solves run on :func:`pde2gnn.integrate.imex.imex_solve`."""
        return self.method in IMEX_TABLEAUS or self.method in ROSENBROCK_TABLEAUS

    def options(self) -> dict:
        if self.method in FIXED_STEP and self.step_size is not None:
            return {"step_size": self.step_size}
        return {}

    def adjoint_tolerances(self) -> dict:
        """``adjoint_rtol`` / ``adjoint_atol`` keywords of torchdiffeq's ``odeint_adjoint``
        (``rtol`` / ``atol`` where unset)."""
        return dict(adjoint_rtol=self.rtol if self.adjoint_rtol is None else self.adjoint_rtol,
                    adjoint_atol=self.atol if self.adjoint_atol is None else self.adjoint_atol)

    def to_dict(self) -> dict:
        return asdict(self)
