"""The fields of a simulated spec (:class:`Layout`): how B trajectories of one or several
coupled fields are laid out in the solver's state, their initial values (random families,
``--init FIELD=file``) and the values of declared inputs (``--input NAME=file``).

Two layouts, chosen from the field declarations (:func:`layout`):

- *as channels*: every field is ``node[d]`` with the same unbound dimension ``d`` (as in
  ``library/convection_diffusion.pde``, ``gray_scott.pde``): ``d`` is set to the chunk size b and
  the state is ``[N, F b]``, field f's columns ``f b .. f b + b - 1``, trajectory j the j-th of
  each; one sparse product per evaluation serves all b trajectories.
- *batched*: every field's channels are fixed (``node``, ``node[2]``, or ``--dim`` given): the
  state is ``[b, N, W]``, W = the sum of the fields' channels, in declaration order.

Per field the frames are ``[B, T, M, C]`` (C the field's channels per trajectory: 1 as
channels).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional

import numpy as np
import torch
from torch import Tensor

from pde2gnn.compiler.check import resolve_channels
from pde2gnn.errors import DataError, OptionError, did_you_mean
from pde2gnn.compiler.lang.kinds import Kind


@dataclass
class Layout:
    """Where each field's values sit in the state of one chunk of trajectories.

    Attributes:
        names: the fields in declaration order.
        channels: ``{field: C}`` channels per trajectory.
        traj_dim: the dimension that carries the trajectories as channels, or None (batched).
    """

    names: List[str]
    channels: Dict[str, int]
    traj_dim: Optional[str]

    @property
    def width(self) -> int:
        """W: channels of one trajectory, all fields."""
        return sum(self.channels.values())

    def dims(self, given: Mapping[str, int], size: int) -> Dict[str, int]:
        """The dimension sizes to compile a chunk of ``size`` trajectories with."""
        return {**given, **({self.traj_dim: size} if self.traj_dim else {})}

    def pack(self, values: Mapping[str, np.ndarray], slices: Mapping[str, slice]) -> np.ndarray:
        """Per-field initial values ``{f: [b, N, C]}`` -> the state (``[N, F b]`` as channels,
        ``[b, N, W]`` batched) with the compiled field's column ``slices``."""
        b, n = next(iter(values.values())).shape[:2]
        if self.traj_dim:
            y = np.empty((n, b * len(self.names)))
            for f in self.names:
                y[:, slices[f]] = values[f][:, :, 0].T
            return y
        y = np.empty((b, n, self.width))
        for f in self.names:
            y[:, :, slices[f]] = values[f]
        return y

    def unpack(self, ys: Tensor, slices: Mapping[str, slice], nodes: np.ndarray
               ) -> Dict[str, np.ndarray]:
        """Solution ``[T, *state]`` -> ``{f: [b, T, M, C]}`` at the nodes ``nodes`` [M]."""
        out = {}
        for f in self.names:
            if self.traj_dim:
                out[f] = ys[:, nodes, slices[f]].permute(2, 0, 1).unsqueeze(-1).numpy()
            else:
                out[f] = ys[:, :, nodes, slices[f]].permute(1, 0, 2, 3).numpy()
        return out

    def per_trajectory(self, x: Tensor) -> Tensor:
        """max |x| per trajectory of a state-shaped tensor: ``[b]``."""
        if self.traj_dim:
            return x.abs().reshape(x.shape[0], len(self.names), -1).amax((0, 1))
        return x.abs().amax((1, 2))


def layout(ir, given_dims: Mapping[str, int]) -> Layout:
    """The :class:`Layout` of the fields of ``ir`` (the lowered IR, dimensions unbound) with the
    ``--dim`` sizes ``given_dims``.

    Raises:
        OptionError: a discrete-time spec, or fields whose channels mix an unbound dimension with
            other channel counts (give that dimension with ``--dim``).
    """
    if ir.discrete:
        raise OptionError(f"'{ir.name}' is a discrete-time model (next(...) equations); "
                          "simulate integrates continuous specs (dt(...) equations)")
    names = list(ir.rhs)
    chans = {f: ir.symbols[f].type.channels for f in names}
    free = {str(s) for c in chans.values() if not isinstance(c, int)
            for s in ([c] if isinstance(c, str) else c.free_symbols) if str(s) not in given_dims}
    if not free:
        return Layout(names, {f: int(resolve_channels(c, given_dims))
                              for f, c in chans.items()}, None)
    if len(free) == 1 and all(c in free for c in chans.values()):
        return Layout(names, {f: 1 for f in names}, free.pop())
    decl = ", ".join(f"{f} : node[{c}]" for f, c in chans.items())
    raise OptionError(f"fields {decl} of '{ir.name}': trajectories go into the channels only "
                      "when every field is node[d] with the same d; give the sizes with "
                      + " ".join(f"--dim {d}=SIZE" for d in sorted(free)))


def read_array(spec: str, what: str, key: Optional[str] = None) -> np.ndarray:
    """A float64 array from ``PATH.npy``, or ``PATH.npz`` (the array ``key``, or its only
    array). ``what`` names the option in messages.

    Raises:
        OptionError: a missing file or another suffix. DataError: unreadable, no such key,
            non-numeric or non-finite values.
    """
    p = Path(spec)
    if p.suffix not in (".npy", ".npz") or not p.is_file():
        raise OptionError(f"{what}: '{spec}' is not a .npy or .npz file")
    try:
        z = np.load(p, allow_pickle=False)
        if isinstance(z, np.lib.npyio.NpzFile):
            if key in z.files:
                a = z[key]
            elif len(z.files) == 1:
                a = z[z.files[0]]
            else:
                raise DataError(f"{p}: {what} looks for the array '{key}' and the file holds "
                                f"{', '.join(z.files)} {did_you_mean(str(key), z.files)}".strip())
        else:
            a = z
        a = np.asarray(a, dtype=np.float64)
    except (ValueError, OSError) as e:
        raise DataError(f"{p}: {what}: cannot read a numeric array ({e})") from None
    if not np.isfinite(a).all():
        raise DataError(f"{p}: {what}: {int((~np.isfinite(a)).sum())} non-finite value(s)")
    return a


def given_initial(lay: Layout, init: Mapping[str, str], n: int, count: int
                  ) -> Dict[str, np.ndarray]:
    """The fields given by ``--init FIELD=PATH`` (``init``; key ``*``: a ``.npz`` with one
    array per field name) as ``{f: [count, n, C]}``.

    Accepted shapes: ``[N, C]`` (every trajectory starts there), ``[B, N, C]`` (one per
    trajectory), and ``[N]`` / ``[B, N]`` for a one-channel field; rows in the node order of the
    graph (``simulate --help``).

    Raises:
        OptionError: an unknown field. DataError: an array of the wrong shape.
    """
    out: Dict[str, np.ndarray] = {}
    for f, path in init.items():
        if f == "*":                    # --init PATH.npz: the arrays named like fields
            if not (path.endswith(".npz") and Path(path).is_file()):
                raise OptionError(f"--init {path}: without FIELD= the file must be an .npz "
                                  f"holding one array per field ({', '.join(lay.names)})")
            with np.load(path, allow_pickle=False) as z:
                found = [g for g in lay.names if g in z.files]
            if not found:
                raise DataError(f"{path}: --init looks for arrays named like the fields "
                                f"({', '.join(lay.names)}); the file holds none of them")
            for g in found:
                out[g] = _shaped(read_array(path, f"--init {g}", g), g, lay, n, count, path)
            continue
        if f not in lay.channels:
            raise OptionError(f"--init {f}=...: the spec has no field '{f}' (fields: "
                              f"{', '.join(lay.names)}) {did_you_mean(f, lay.names)}".strip())
        out[f] = _shaped(read_array(path, f"--init {f}", f), f, lay, n, count, path)
    return out


def _shaped(a: np.ndarray, f: str, lay: Layout, n: int, count: int, path: str) -> np.ndarray:
    C = lay.channels[f]
    if C == 1 and a.ndim in (1, 2) and a.shape[-1] == n and (a.ndim == 1 or a.shape[0] == count):
        a = a[..., None]
    if a.ndim == 2 and a.shape == (n, C):
        return np.broadcast_to(a, (count, n, C)).copy()
    if a.ndim == 3 and a.shape == (count, n, C):
        return a
    raise DataError(f"{path}: --init {f} must have shape [N, C] = [{n}, {C}] (every trajectory)"
                    f" or [B, N, C] = [{count}, {n}, {C}]"
                    + (f" (or [{n}] / [{count}, {n}] for this one-channel field)" if C == 1
                       else "") + f", got {list(a.shape)}")


def input_values(ir, given: Mapping[str, str], n: int, e: int) -> Dict[str, Tensor]:
    """The values of the spec's declared inputs from ``--input NAME=PATH`` (``given``):
    ``{name: [N, c]}`` for ``node[c]``, ``[E, c]`` for ``edge[c]`` (rows in the order of the
    graph's ``edge_index``), ``(values [T, N, c], times [T])`` for ``node[c] series`` (the
    arrays ``values`` and ``times`` of a .npz), float64.

    Raises:
        OptionError: an unknown input name, or a declared input without a value.
        DataError: a value of the wrong shape (checked again by the compiled field).
    """
    consts = ir.constants
    dom = consts.domain.name if consts.domain else None     # the coordinates: the graph's
    declared = {k: consts.inputs[k] for k in consts.data_inputs if k != dom}
    for k in given:
        if k not in declared:
            what = (f"inputs: {', '.join(declared)}" if declared else "it declares no inputs")
            raise OptionError(f"--input {k}=...: '{ir.name}' has no input '{k}' ({what}) "
                              f"{did_you_mean(k, declared)}".strip())
    missing = [k for k in declared if k not in given]
    if missing:
        raise OptionError(f"'{ir.name}' needs a value for input(s) " + ", ".join(
            f"'{k}' (--input {k}=PATH.npy, shape [{'E' if declared[k].kind == Kind.EDGE else 'N'}"
            f", {declared[k].channels}])" for k in missing))
    out = {}
    for k, path in given.items():
        if k in consts.series:   # node[c] series: PATH.npz with values [T, N, c], times [T]
            if not str(path).endswith(".npz"):
                raise OptionError(f"--input {k}=...: '{k}' is a series: give a .npz with the "
                                  f"arrays 'values' [T, {n}, {declared[k].channels}] and "
                                  "'times' [T]")
            out[k] = tuple(torch.tensor(read_array(path, f"--input {k}", key))
                           for key in ("values", "times"))     # shapes: the compiled field's
            continue
        a = read_array(path, f"--input {k}", k)
        edge = declared[k].kind == Kind.EDGE
        rows, c = (e if edge else n), declared[k].channels
        if a.ndim == 1 and c == 1:
            a = a[:, None]
        if a.shape != (rows, c):
            raise DataError(f"{path}: --input {k} must have shape [{rows}, {c}] (one row per "
                            f"{'edge of edge_index' if edge else 'node'}), got {list(a.shape)}")
        out[k] = torch.tensor(a)
    return out
