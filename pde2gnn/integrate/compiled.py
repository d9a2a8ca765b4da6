"""A whole Runge-Kutta step, the generated vector field inside it, compiled by ``torch.compile``.

Eagerly, one evaluation of a small graph's field is dozens of Python-dispatched kernels (each a
few microseconds of overhead for microseconds of arithmetic), and the stage sums of a step add
more. :class:`CompiledStep` traces the step

    k_1 = f(t0, y0),  k_s = f(t0 + c_s dt, y0 + dt sum_{r<s} a_sr k_r),  y1 = y0 + dt sum_s b_s k_s

(Butcher 2016, "Numerical Methods for Ordinary Differential Equations", eq. 230a) with
``torch.compile(fullgraph=True)`` into one graph. Each sparse product of the field is a sum of
shifted copies of the state where its operator is a constant stencil on a periodic grid
(``backend/grid.py``), else a gather and reduction over its padded ELL form (``backend/ell.py``)
where rows are of bounded length, else the custom operator ``torch.ops.pde2gnn.csr_mm``
(``backend/csr.csr_product``, opaque to the tracer); the compiler fuses the node-wise arithmetic
and the stage sums around it. Where every product is in the shifted grid form (CPU, no grad),
the traced step is written as a C loop nest instead (:mod:`pde2gnn.compiler.backend.grid_loop`).
After the first call the step is compiled ahead of time and called without dynamo's per-call
machinery, its guards checked once per solve (:meth:`CompiledStep._compile_direct`). ``t0``,
``dt`` and the tableau's ``a``, ``b``, ``c`` enter as tensors, so a new step size or end time,
y0 or parameter values reuse the graph: it is traced once per (field, method, dtype, device,
grad mode, state shape); only the tableau's zero pattern is fixed in the traced code.

:func:`solve_fixed` runs fixed-step methods on it, several steps per compiled call
(:meth:`CompiledStep.steps`; the grid and interpolation of :func:`pde2gnn.integrate.rk.rk_solve`);
adaptive methods keep ``rk_solve``'s step-size control in Python and get the field compiled alone
(:func:`compiled_field`: ``t`` is a tensor there, so new step sizes do not recompile either).
"""
from __future__ import annotations

import time
from typing import Callable, List, Optional, Tuple

import torch
import torch.utils.checkpoint
from torch import Tensor, nn

from pde2gnn.compiler.backend import ell, grid_loop
from pde2gnn.errors import OptionError
from pde2gnn.integrate.rk import rk_step
from pde2gnn.integrate.tableaus import TABLEAUS
from pde2gnn.threads import SMALL_WORK

#: backend of ``torch.compile`` for the solver (tests pass a tracing-only backend, ``eager``)
DEFAULT_BACKEND = "inductor"
#: the most fixed steps one compiled call of :func:`solve_fixed` runs (:meth:`CompiledStep.steps`)
BLOCK = 4


class CompiledStep(nn.Module):
    """One explicit Runge-Kutta step of ``field`` with ``method``'s tableau, compiled.

    Args:
        field: the vector field ``field(t, y) -> dy/dt`` (a :class:`VectorField`; t a 0-dim
            tensor, y ``[N, D]`` or ``[B, N, D]``), prepared for the solve by the caller.
        method: a name of :data:`pde2gnn.integrate.tableaus.TABLEAUS`.
        backend: ``torch.compile``'s backend (``inductor``: generated C++ / Triton kernels).
        log: where to say what was compiled and how long the first call (trace + compile +
            run) took; ``None``: silent.
        compile: False runs the same step eagerly (for ``checkpoint`` alone).
        checkpoint: per-step gradient checkpointing (Chen et al. 2016, "Training deep nets
            with sublinear memory cost"; ``torch.utils.checkpoint``, non-reentrant): the
            backward pass keeps only each step's inputs and recomputes its stages, so a
            solve of K steps holds K states for autograd instead of K x S stages and every
            edge-sized intermediate of the field; it costs one more forward step per step.
        direct: after the first call, compile the step ahead of time and call it without
            dynamo's per-call machinery, checking its guards once per solve
            (:meth:`_compile_direct`); False keeps the ordinary ``torch.compile`` call.
        shifted: a sparse product whose pattern is a translation-invariant stencil on a
            periodic grid is traced as shifted copies of the state (:mod:`..backend.grid`);
            False keeps the ELL form for it (the other side of a comparison).
        block: :func:`solve_fixed` runs up to this many steps per compiled call
            (:meth:`steps`; fewer when the first solve has fewer steps); 1: one step a call.
        loop: a step whose products are all shifted grid products (CPU, without grad; one
            thread, or a state below ``threads.SMALL_WORK`` values) runs as a generated C loop
            nest (:mod:`..backend.grid_loop`) instead of inductor's code; None: where the
            backend is inductor; where it cannot, the log says why.

    ``forward(t0, dt, y0)`` (0-dim tensors of y0's dtype, and the state) returns ``(y1, ks)``:
    the new state and the S stage derivatives, each of y0's shape.

    Raises:
        OptionError: an unknown method, or a field with a sheaf Laplacian (not traceable).
    """

    def __init__(self, field: nn.Module, method: str, backend: Optional[str] = None,
                 log: Optional[Callable[[str], None]] = print, compile: bool = True,
                 checkpoint: bool = False, direct: bool = True, shifted: bool = True,
                 block: int = BLOCK, loop: Optional[bool] = None):
        super().__init__()
        backend = backend or DEFAULT_BACKEND
        if compile:
            _check_traceable(field)
        if method not in TABLEAUS:
            raise OptionError(f"unknown Runge-Kutta method '{method}' (choose from "
                              f"{', '.join(TABLEAUS)})")
        tab = TABLEAUS[method]
        s = tab.stages
        a = torch.zeros(s, s, dtype=torch.float64)
        for k, row in enumerate(tab.a):
            a[k + 1, :len(row)] = torch.tensor(row, dtype=torch.float64)
        self.field, self.method, self.backend, self.log = field, method, backend, log
        self.register_buffer("a", a, persistent=False)
        self.register_buffer("b", torch.tensor(tab.b, dtype=torch.float64), persistent=False)
        self.register_buffer("c", torch.tensor((0.0,) + tuple(tab.c), dtype=torch.float64),
                             persistent=False)
        #: the zero pattern, fixed in the traced code: stage s sums the stages in uses[s]
        self.uses = [[r for r in range(k) if a[k, r] != 0] for k in range(s)]
        self.uses_b = [r for r in range(s) if tab.b[r] != 0]
        self.checkpoint = checkpoint
        self._compiled = {} if compile else None    # inductor's options -> torch.compile
        self._seen: set = set()
        self._direct: dict = {}       # key -> the step compiled ahead of time (_compile_direct)
        self._abc: dict = {}
        self._check = True
        self.direct, self.shifted = direct, shifted
        self.loop = backend == "inductor" if loop is None else loop
        self._loops: dict = {}        # key -> the generated C loop (grid_loop.GridLoop)
        if int(block) < 1:
            raise OptionError(f"block must be a positive number of steps, got {block}")
        #: the steps per compiled call of :func:`solve_fixed` (fixed by the first solve)
        self.block = int(block)
        self._block_size: Optional[int] = None
        self.compile_seconds = 0.0
        #: the form of the sparse products (ELL or csr_mm, per pattern; :mod:`..backend.ell`)
        self.products = ""
        #: how the step is called (ahead of time, or through dynamo and why)
        self.how = ""


    def _step(self, t0: Tensor, dt: Tensor, y0: Tensor, a: Tensor, b: Tensor,
              c: Tensor) -> Tuple[Tensor, List[Tensor]]:
        ks: List[Tensor] = []
        for s, uses in enumerate(self.uses):
            yi = y0
            for r in uses:
                yi = yi + (dt * a[s, r]) * ks[r]
            ks.append(self.field(t0 + c[s] * dt, yi))
        y1 = y0
        for r in self.uses_b:
            y1 = y1 + (dt * b[r]) * ks[r]
        return y1, ks

    def block_size(self, steps: int) -> int:
        """The steps per compiled call for a solve of ``steps`` steps: the largest divisor of
        the first solve's step count (the one that compiles) not above :attr:`block`, so that
        solve, and every later one of as many steps (training epochs), evaluates no step it
        does not need; then fixed, so later solves reuse the compiled code (a solve whose step
        count it does not divide pads its last block with steps of size 0). 1 where the step is
        not compiled."""
        if self._compiled is None or self.block == 1 or steps < 1:
            return 1
        if self._block_size is None:
            self._block_size = max(k for k in range(1, min(self.block, steps) + 1)
                                   if steps % k == 0)
        return self._block_size

    def new_solve(self) -> None:
        """Check the compiled code's guards at the next call (:func:`solve_fixed` calls this
        at the start of every solve; the steps of one solve skip the check)."""
        self._check = True

    def forward(self, t0: Tensor, dt: Tensor, y0: Tensor) -> Tuple[Tensor, List[Tensor]]:
        if self._compiled is None:
            if self.checkpoint and torch.is_grad_enabled():
                return torch.utils.checkpoint.checkpoint(self._fused_step, t0, dt, y0,
                                                         use_reentrant=False)
            return self._fused_step(t0, dt, y0)
        a, b, c = self._weights(y0)
        return self._call(type(self)._step, "step", (self, t0, dt, y0, a, b, c))

    def _fused_step(self, t0: Tensor, dt: Tensor, y0: Tensor) -> Tuple[Tensor, List[Tensor]]:
        """The uncompiled step (checkpointing without ``compile``): :func:`rk_solve`'s step,
        the weights Python numbers and the stage sums fused (the traced :meth:`_step` keeps
        them tensors, so that a new step size does not recompile; run eagerly, that form costs
        two new tensors and their backward per stage term)."""
        def f(t: float, y: Tensor) -> Tensor:
            return self.field(torch.full((), t, dtype=y.dtype, device=y.device), y)
        ks, y1 = rk_step(f, TABLEAUS[self.method], float(t0), float(dt), y0, self.field(t0, y0))
        return y1, ks

    def _block(self, t0s: Tensor, dts: Tensor, y0: Tensor, a: Tensor, b: Tensor,
               c: Tensor) -> Tuple[Tensor, ...]:
        ys, y = [], y0
        for m in range(int(t0s.shape[0])):
            y, _ = self._step(t0s[m], dts[m], y, a, b, c)
            ys.append(y)
        return tuple(ys)

    def steps(self, t0s: Tensor, dts: Tensor, y0: Tensor) -> Tuple[Tensor, ...]:
        """``k`` consecutive steps as one compiled call: step m starts at ``t0s[m]`` with step
        size ``dts[m]`` (``[k]`` tensors of y0's dtype) from the state the previous one ended
        in; returns the k states ``y_1 .. y_k``, each of y0's shape. The same arithmetic as k
        calls of :meth:`forward` (the same traced step, unrolled), so the per-call cost of the
        compiled code (its wrapper and argument checks, about 9 us of CPU here) is paid once
        per k steps; a step of size 0 returns its state unchanged (how :func:`solve_fixed`
        pads the last block). Traced once per k (and the keys of :meth:`forward`)."""
        a, b, c = self._weights(y0)
        if self._compiled is None:
            return self._block(t0s, dts, y0, a, b, c)
        return self._call(type(self)._block, ("block", int(t0s.shape[0])),
                          (self, t0s, dts, y0, a, b, c))

    def _call(self, fn: Callable, kind, args):
        """``fn(*args)`` compiled: ahead of time after the first call (guards checked at the
        first call of a solve), through dynamo before."""
        y0 = args[3]
        key = (kind, y0.dtype, y0.device, tuple(y0.shape), torch.is_grad_enabled())
        if self._check and self.shifted and ell.refresh(self.field):
            self._direct.clear()         # constant grid weights changed: dynamo's guards on
            self._seen.clear()           # them decide what is traced again
            self._loops.clear()
        if key in self._loops:
            self._check = False
            return self._loops[key](*args)
        direct = self._direct.get(key)
        if direct is not None:
            if not self._check or direct.guard_check(*args):
                self._check = False
                return direct(*args)
            del self._direct[key]             # the field changed (new shapes, constants...):
            self._seen.discard(key)           # dynamo's guards say what, and it traces again
        if key in self._seen:
            return self._dynamo(fn, y0)(*args)
        start = time.perf_counter()
        self.products = ell.prepare(self.field, shifted=self.shifted)
        out, engine = self._grid_loop(fn, key, args), ""
        if out is None:
            out = self._dynamo(fn, y0)(*args)
            self.how = (self._compile_direct(fn, key, args) if self.direct else
                        "dynamo per call") + self.how
            simd = self._options(y0).get("cpp.simdlen")
            if simd is not None:
                self.how += ", scalar C++ (cpp.simdlen = 1)" if simd == 1 else \
                    f", {simd}-bit vectors (cpp.simdlen = {simd})"
            engine = f"torch.compile(fullgraph, {self.backend}; {self.how})"
        took = time.perf_counter() - start
        self._seen.add(key)
        self._check = False
        self.compile_seconds += took
        if self.log is not None:
            what = f"one {self.method} step" if kind == "step" else \
                f"{kind[1]} {self.method} steps as one call"
            self.log(f"compiled: {what} of {_name(self.field)} ({len(self.uses)} evaluations"
                     f" a step, state {list(y0.shape)} {str(y0.dtype).replace('torch.', '')}"
                     f", {'with' if key[-1] else 'without'} grad) by {engine or self.how}; "
                     f"sparse products: {self.products}; first call {took:.1f} s")
        return out

    def _grid_loop(self, fn: Callable, key, args):
        """The outputs of ``fn(*args)`` by a generated C loop (kept for ``key``), or None
        where :attr:`loop` is off or the step is not one (the reason goes to :attr:`how`)."""
        self.how = ""
        y0 = args[3]
        why = "off" if not self.loop else "a state on " + y0.device.type \
            if y0.device.type != "cpu" else "gradients" if torch.is_grad_enabled() else \
            "no shifted grid product" if "shifted grid" not in self.products else \
            f"{torch.get_num_threads()} threads (the loop runs on one)" if \
            torch.get_num_threads() > 1 and y0.numel() >= SMALL_WORK else None
        if why is None:          # a batch [B, N, c]: traced on one state, run on each
            many = y0.dim() == 3 and y0.shape[0] > 1
            try:
                k = grid_loop.build(fn, args[:3] + (y0[:1],) + args[4:] if many else args)
                self._loops[key] = grid_loop.Batched(k, 3) if many else k
            except grid_loop.Unsupported as e:
                why = str(e)
        if why is not None:
            self.how = f"; no C loop: {why}" if self.loop else ""
            return None
        k = self._loops[key]
        each = "; traced on one state, run on each" if isinstance(k, grid_loop.Batched) else ""
        self.how = (f"a generated C loop nest ({k.loops} loops a call over the grid, "
                    f"{k.stored} scratch arrays; {' '.join(grid_loop.CFLAGS[:2])}{each}), "
                    "rebuilt when the grid's weights change")
        return k(*args)

    def _options(self, y0: Tensor) -> dict:
        """Inductor's options for a CPU state narrower than a SIMD register (< 8 channels;
        wider ones vectorise along the channels). With a product in the shifted grid form:
        256-bit vectors where inductor would pick wider (AVX-512), as its rolled last axis is
        loaded lane by lane through a stack buffer (rk4 of heat on 64 x 64: 13.8 us of CPU
        per evaluation at 512 bits, 9.8 at 256; :mod:`pde2gnn.compiler.backend.grid`). Else
        with one in ELL form: scalar C++ (``cpp.simdlen = 1``), as inductor vectorises ELL
        gathers lane by lane too (rk4 on 64 x 64, one channel: 60 and 61 us against 33 and
        37 scalar, one process)."""
        if self.backend != "inductor" or y0.device.type != "cpu" or y0.shape[-1] >= 8:
            return {}
        if "shifted grid" in self.products:
            return {"cpp.simdlen": 256} if _vector_bits() > 256 else {}
        return {"cpp.simdlen": 1} if "ELL" in self.products else {}

    def _dynamo(self, fn: Callable, y0: Tensor) -> Callable:
        """``fn`` (the step or the block, unbound) under ``torch.compile`` (dynamo per call)
        with y0's inductor options."""
        opts = self._options(y0)
        name = (fn.__name__,) + tuple(sorted(opts.items()))
        if name not in self._compiled:
            self._compiled[name] = torch.compile(fn, fullgraph=True,
                                                 backend=self.backend, dynamic=False,
                                                 **({"options": opts} if opts else {}))
        return self._compiled[name]

    def __getstate__(self):
        """Pickled (``torch.save``, and by torch's ahead-of-time compile with its guards' state)
        without the compiled code, which does not pickle; it is compiled again when called."""
        state = self.__dict__.copy()
        state.update(_direct={}, _loops={}, _seen=set(), _check=True,
                     _compiled=None if self._compiled is None else {})
        return state

    def _weights(self, y0: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """The tableau's a, b, c in y0's dtype and device (converted once)."""
        key = (y0.dtype, y0.device)
        if key not in self._abc:
            self._abc[key] = tuple(w.to(y0) for w in (self.a, self.b, self.c))
        return self._abc[key]

    def _compile_direct(self, fn: Callable, key, args) -> str:
        """The step compiled ahead of time (``aot_compile`` after the first call, whose graph
        inductor's cache reuses), called without dynamo's per-call frame evaluation (about
        30 us of CPU per call here: benchmarks/scale.py), its guards checked once per solve
        (:meth:`new_solve`). Returns the log's phrase; else the dynamo path stays."""
        from torch._dynamo.exc import TensorifyScalarRestartAnalysis
        if not isinstance(self.backend, str):  # its output need not be serialisable
            return "dynamo per call (a backend function is not compiled ahead of time)"
        done = failed = None
        for _ in range(3):        # dynamo restarts its analysis itself; aot_compile does not
            try:
                opts = self._options(args[3])
                done = torch.compile(fn, fullgraph=True, backend=self.backend,
                                     dynamic=False, **({"options": opts} if opts else {})
                                     ).aot_compile((args, {}))
                break
            except TensorifyScalarRestartAnalysis as e:
                failed = e
            except Exception as e:             # noqa: BLE001 -- any failure keeps dynamo
                failed = e
                break
        if done is None:
            why = (str(failed).strip().splitlines() or [""])[0][:160]
            return f"dynamo per call: ahead-of-time compile failed ({type(failed).__name__}: {why})"
        done.disable_guard_check()
        self._direct[key] = done
        return "ahead of time, guards checked once per solve"


def _vector_bits() -> int:
    """The width in bits of the vectors inductor's C++ code uses on this CPU (0: none)."""
    from torch._inductor.cpu_vec_isa import pick_vec_isa
    return int(getattr(pick_vec_isa(), "bit_width", lambda: 0)())


def compiled_field(field: nn.Module, backend: Optional[str] = None,
                   log: Optional[Callable[[str], None]] = print) -> Callable:
    """``torch.compile(field, fullgraph=True)``: the vector field alone, for the adaptive
    methods' Python step-size control (t is a tensor, so new step sizes do not recompile);
    the first call is timed and logged like :class:`CompiledStep`'s.

    Raises:
        OptionError: a field that cannot be traced (sheaf Laplacians)."""
    backend = backend or DEFAULT_BACKEND
    _check_traceable(field)
    compiled = torch.compile(field, fullgraph=True, backend=backend, dynamic=False)
    seen: set = set()

    def call(t: Tensor, y: Tensor) -> Tensor:
        key = (y.dtype, y.device, tuple(y.shape), torch.is_grad_enabled())
        if key in seen:
            return compiled(t, y)
        start = time.perf_counter()
        products = ell.prepare(field, shifted=False)     # no per-solve check of grid weights
        out = compiled(t, y)
        seen.add(key)
        call.compile_seconds += time.perf_counter() - start
        if log is not None:
            log(f"compiled: the vector field of {_name(field)} (state {list(y.shape)}, "
                f"{'with' if key[3] else 'without'} grad) by torch.compile(fullgraph, "
                f"{backend}), step-size control eager; sparse products: {products}; first "
                f"call {time.perf_counter() - start:.1f} s")
        return out
    call.compile_seconds = 0.0     # the first calls' wall seconds, as CompiledStep's
    return call


def _check_traceable(field: nn.Module) -> None:
    """Sheaf Laplacians (``pde2gnn.compiler.backend.sheaf``) test their degree blocks for being
    diagonal on the data and multiply through a CSR autograd Function: not traceable yet."""
    ir = getattr(getattr(field, "program", None), "ir", None)
    if ir is not None and ir.checked.sheaves:
        raise OptionError(f"compile: '{ir.name}' uses a sheaf Laplacian, which torch.compile "
                          "cannot trace yet (a data-dependent test for diagonal degree blocks "
                          "and a sparse CSR product); run it without compile")


def _name(field: nn.Module) -> str:
    ir = getattr(getattr(field, "program", None), "ir", None)
    return f"'{ir.name}'" if ir is not None else type(field).__name__


# the fixed-step loop on the compiled step (its own module: this one's size)
from pde2gnn.integrate.compiled_solve import solve_fixed  # noqa: E402,F401
