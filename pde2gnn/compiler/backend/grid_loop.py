"""A compiled step on a periodic grid as one generated C loop nest (the optional ``--compile`` kernel).

On a periodic grid, inductor's code for a step of shifted grid products (:mod:`.grid`) loads
the rolled last axis lane by lane with a modulo per element and recomputes every stage input
``y0 + dt a_sr k_r`` at each of the stencil's offsets (``TORCH_LOGS=output_code``). This module
writes the loop a person would write instead. The step (the vector field and the Runge-Kutta
stage sums, ``CompiledStep._step`` / ``_block``) is traced once by dynamo into an FX graph of
``torch.roll``, reshapes and node-wise arithmetic (:func:`build`); every value that is read
at a shifted grid point (a stage input, ``c^3 - c - g lap c`` of Cahn-Hilliard) or by more than
one consumer (a stage derivative) is stored in a buffer; every other value is inlined into the
expression that reads it; consecutive stored values that do not read each other at shifted
points share one loop. Each loop runs over the grid's rows (outer axes, one modulo per row)
and, inside a row, splits the last axis into the interior, read with plain offsets that the C
compiler vectorises, and the few wrapped points at either end (the periodic wrap of LeVeque
2007, "Finite Difference Methods for Ordinary and Partial Differential Equations", sec. 2.6).
The source is compiled by the system C compiler (``$CC`` or ``cc``, ``-O3 -march=native``,
no fast-math: IEEE arithmetic in the traced order, up to fused multiply-adds) into a shared
library cached by the source's hash, and called through ``ctypes`` on the tensors' memory.

What it takes: a graph whose tensors all have the state's layout (``[N, c]``, or the grid
``[*shape, c]`` reshaped from it) or are scalars read from the step's arguments (``t0s``,
``dts``, the tableau), ``torch.roll`` along grid axes, ``+ - * / **``, negation and the
functions of :data:`FUNCS`; float32 or float64 on a CPU, without autograd. Anything else (a
learned parameter, a per-node input, an ELL or CSR product, a batch of states) raises
:class:`Unsupported` with the reason, and the caller keeps inductor.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import types
from typing import List, Optional

import torch
from torch.utils import _pytree as pytree

from pde2gnn.compiler.backend.grid_loop_c import Emitter
from pde2gnn.compiler.backend.grid_loop_ir import FUNCS, Unsupported  # noqa: F401 (API)

#: flags of the C compiler (no -ffast-math: the operations in the traced order)
CFLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fPIC", "-shared", "-std=gnu99"]

class GridLoop:
    """The generated kernel: ``kernel(*args)`` with the traced function's arguments returns
    its outputs (fresh tensors of the traced shapes). ``source`` is the C code, ``loops`` the
    number of loops over the grid per call, ``stored`` the buffers it writes."""

    def __init__(self, lib, source: str, inputs: List[int], scalars: List[int], out_spec,
                 out_shapes, n_tmp: int, numel: int, dtype, loops: int):
        self.lib, self.source, self.loops = lib, source, loops
        self.inputs, self.scalars, self.out_spec, self.out_shapes = inputs, scalars, out_spec, \
            out_shapes
        self.numel, self.dtype, self.stored = numel, dtype, n_tmp
        self.tmp = torch.empty(max(n_tmp, 1), numel, dtype=dtype)
        self.fn = lib.step
        self.fn.restype = None
        self.fn.argtypes = [ctypes.c_void_p] * (len(inputs) + len(scalars) + 2)
        same = len(set(out_shapes)) == 1
        #: the outputs as one [n_out, *shape] tensor split by unbind (one shape, a flat tuple)
        self._stacked = (len(out_shapes),) + tuple(out_shapes[0]) if same else None
        self._tuple = out_spec == pytree.tree_flatten(tuple(range(len(out_shapes))))[1]

    def __call__(self, *args):
        """The traced function's outputs for ``args`` (its arguments, in its order).

        Raises:
            ValueError: a state argument of another dtype or size than traced."""
        for i in self.inputs:
            if args[i].dtype != self.dtype or args[i].numel() != self.numel:
                raise ValueError("grid loop: a state argument changed dtype or size")
        keep = [args[i].contiguous() for i in self.inputs] + \
            [args[i].to(self.dtype).contiguous() for i in self.scalars]   # alive in the call
        ptrs = [t.data_ptr() for t in keep]
        if self._stacked is not None:
            out = torch.empty(self._stacked, dtype=self.dtype)
            self.fn(*ptrs, out.data_ptr(), self.tmp.data_ptr())
            leaves = out.unbind(0)
        else:
            out = torch.empty(len(self.out_shapes), self.numel, dtype=self.dtype)
            self.fn(*ptrs, out.data_ptr(), self.tmp.data_ptr())
            leaves = [out[k].view(s) for k, s in enumerate(self.out_shapes)]
        return tuple(leaves) if self._tuple else pytree.tree_unflatten(list(leaves),
                                                                         self.out_spec)


class Batched:
    """A kernel traced on one state ``[1, N, c]`` of a batch, run on each state of a batch
    ``[B, N, c]`` (argument ``at``) in turn: the states of a batch evolve independently (the
    batched product's transposes would move values, which a loop over one layout does not
    write). Outputs concatenated along the batch. ``loops``, ``stored``, ``source``: the
    kernel's."""

    def __init__(self, kernel: GridLoop, at: int):
        self.kernel, self.at = kernel, at
        self.loops, self.stored, self.source = kernel.loops, kernel.stored, kernel.source

    def __call__(self, *args):
        y, at = args[self.at], self.at
        outs = [self.kernel(*args[:at], y[b:b + 1], *args[at + 1:]) for b in range(y.shape[0])]
        return pytree.tree_map(lambda *xs: torch.cat(xs), outs[0], *outs[1:])


def _record(store):
    def backend(gm, example_inputs):
        store["gm"], store["ex"] = gm, list(example_inputs)
        return gm.forward
    return backend


def build(fn, args, cache: Optional[str] = None) -> GridLoop:
    """Trace ``fn(*args)`` (dynamo, ``fullgraph``, a recording backend: no inductor) and compile
    it as a C loop nest over the grid of its ``torch.roll`` calls.

    Args:
        fn: the function (``CompiledStep._block`` or ``_step``, unbound: ``args[0]`` is the
            module). args: its arguments; the tensors among them ``[N, c]`` states or scalar
            arrays (step times, sizes, tableau weights).
        cache: the folder of compiled libraries (default: ``pde2gnn-grid-loops`` in the
            temporary folder).

    Returns:
        the :class:`GridLoop`.

    Raises:
        Unsupported: a graph this module does not write (the reason in the message), no C
            compiler, or a failed build.
    """
    store: dict = {}
    # a copy of fn's code object: dynamo's cache entry goes with it, not onto fn's (whose
    # recompile limit torch.compile's own calls of fn then still have)
    fresh = types.FunctionType(fn.__code__.replace(), fn.__globals__, fn.__name__,
                               fn.__defaults__, fn.__closure__)
    try:
        with torch.no_grad():
            torch.compile(fresh, fullgraph=True, backend=_record(store), dynamic=False)(*args)
    except Exception as e:                  # noqa: BLE001 -- any failure keeps torch.compile
        raise Unsupported(f"dynamo could not trace the step ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''})") from e
    gm, ex = store["gm"], store["ex"]
    places = [n for n in gm.graph.nodes if n.op == "placeholder"]
    where = {}
    for node, t in zip(places, ex):
        at = [i for i, a in enumerate(args) if a is t]
        if not at:
            raise Unsupported(f"the step reads a tensor that is not one of its arguments "
                              f"({node.name}: a parameter, an input or a graph's value)")
        where[node] = at[0]
    k = Emitter(gm, args, where).compile()
    return GridLoop(_build(k.source, cache), k.source, k.inputs, k.scalars, k.spec, k.shapes,
                    k.stored, k.numel, k.dtype, k.loops)


def compiler() -> Optional[str]:
    """The C compiler the loops are built with: ``$CC`` or ``cc`` on the PATH (None: none)."""
    return shutil.which(os.environ.get("CC", "cc"))


def _build(src: str, cache: Optional[str]):
    """The shared library of ``src`` (built once per source and compiler; ``cache`` or the
    temporary folder), loaded by ctypes.

    Raises:
        Unsupported: no C compiler, or the build failed (its first error line)."""
    cc = compiler()
    if cc is None:
        raise Unsupported("no C compiler ($CC or cc) on the PATH")
    folder = cache or os.path.join(tempfile.gettempdir(), f"pde2gnn-grid-loops-{os.getuid()}")
    os.makedirs(folder, exist_ok=True)
    key = hashlib.sha256((src + " ".join([cc] + CFLAGS)).encode()).hexdigest()[:24]
    lib = os.path.join(folder, f"{key}.so")
    if not os.path.exists(lib):
        with open(os.path.join(folder, f"{key}.c"), "w") as fh:
            fh.write(src)
        tmp = f"{lib}.{os.getpid()}"
        r = subprocess.run([cc, *CFLAGS, "-o", tmp, os.path.join(folder, f"{key}.c"), "-lm"],
                           capture_output=True, text=True, timeout=300)
        if r.returncode:
            first = (r.stderr.strip().splitlines() or ["?"])[0]
            raise Unsupported(f"the C compiler failed: {first}")
        os.replace(tmp, lib)
    return ctypes.CDLL(lib)
