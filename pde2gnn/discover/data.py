"""Observed trajectories: the :class:`Trajectories` container and its .npz reader."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from pde2gnn.errors import DataError, OptionError


@dataclass
class Trajectories:
    """Observed trajectories on one graph (the ``pde2gnn simulate`` .npz layout).

    Attributes:
        frames: ``[B, T, N]`` float64, B trajectories of T frames at N nodes.
        times: ``[T]`` strictly increasing frame times.
        edge_index: ``[2, E]`` int64 graph, torch_geometric convention (row 1 is the receiver i).
        pos: ``[N, D]`` node coordinates, or None.
        train, val, test: trajectory indices of the split (``test`` is held out of the fit).
        source: where they came from (for messages).
    """

    frames: np.ndarray
    times: np.ndarray
    edge_index: np.ndarray
    pos: Optional[np.ndarray] = None
    train: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    val: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    test: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    source: str = "<data>"

    def __post_init__(self):
        where = self.source
        f = np.asarray(self.frames, dtype=np.float64)
        if f.ndim == 2:
            f = f[None]
        if f.ndim != 3:
            raise DataError(f"{where}: frames must have shape [B, T, N] (trajectories, frames, "
                            f"nodes), got {list(np.shape(self.frames))}")
        B, T, N = f.shape
        if B == 0 or N == 0:
            raise DataError(f"{where}: frames have {B} trajectories of {N} nodes "
                            f"(shape {list(f.shape)}); discovery needs at least one trajectory "
                            "on at least one node")
        t = np.asarray(self.times, dtype=np.float64).reshape(-1)
        if T < 2:
            raise DataError(f"{where}: need at least 2 frames to estimate time derivatives, got "
                            f"{T}")
        if t.shape != (T,):
            raise DataError(f"{where}: times has {t.size} entries but frames have {T} frames")
        if not np.isfinite(t).all():
            raise DataError(f"{where}: times contain NaN or inf")
        bad = np.nonzero(np.diff(t) <= 0)[0]
        if bad.size:
            k = int(bad[0])
            raise DataError(f"{where}: times must be strictly increasing, but times[{k + 1}] = "
                            f"{t[k + 1]:g} <= times[{k}] = {t[k]:g}")
        finite = np.isfinite(f)
        if not finite.all():
            b, k, n = (int(v[0]) for v in np.nonzero(~finite))
            count = int((~finite.all(axis=2)).sum())
            raise DataError(f"{where}: frames contain NaN or inf ({count} frame(s), first: "
                            f"trajectory {b}, frame {k}, node {n}); discovery needs complete "
                            "frames: drop or fill those frames first")
        ei = np.asarray(self.edge_index)
        if ei.ndim != 2 or ei.shape[0] != 2 or not np.issubdtype(ei.dtype, np.integer):
            raise DataError(f"{where}: edge_index must be an integer array [2, E], got "
                            f"{ei.dtype} {list(ei.shape)}")
        if ei.size and (ei.min() < 0 or ei.max() >= N):
            raise DataError(f"{where}: edge_index refers to node {int(ei.max())} but frames have "
                            f"{N} nodes")
        if self.pos is not None:
            p = np.asarray(self.pos, dtype=np.float64)
            if p.ndim != 2 or p.shape[0] != N:
                raise DataError(f"{where}: pos must have shape [{N}, D], got {list(p.shape)}")
            self.pos = p
        self.frames, self.times, self.edge_index = f, t, ei.astype(np.int64)
        for name in ("train", "val", "test"):
            idx = np.asarray(getattr(self, name), dtype=np.int64).reshape(-1)
            if idx.size and (idx.min() < 0 or idx.max() >= B):
                raise DataError(f"{where}: split '{name}' refers to trajectory {int(idx.max())} "
                                f"but there are {B}")
            setattr(self, name, idx)

    @property
    def shape(self) -> Tuple[int, int, int]:
        return self.frames.shape

    def fit_indices(self) -> np.ndarray:
        """Trajectories used for fitting: train + val, or all but ``test`` without a split."""
        idx = np.concatenate([self.train, self.val])
        if idx.size == 0:
            idx = np.setdiff1d(np.arange(self.shape[0]), self.test)
        return np.sort(idx)

    def with_noise(self, level: float, seed: int = 0) -> "Trajectories":
        """A copy with i.i.d. Gaussian observation noise of standard deviation ``level`` times
        the standard deviation of all frames (``level = 0.05``: 5 % noise)."""
        if level < 0:
            raise OptionError(f"noise level must be >= 0, got {level}")
        rng = np.random.default_rng(seed)
        noisy = self.frames + level * self.frames.std() * rng.standard_normal(self.frames.shape)
        return Trajectories(noisy, self.times, self.edge_index, self.pos, self.train, self.val,
                            self.test, f"{self.source} + {100 * level:g} % noise")


def load_trajectories(path) -> Trajectories:
    """Read a ``pde2gnn simulate`` .npz file (``frames [B, T, N]``, ``times``, ``edge_index``,
    optional ``pos``, ``train`` / ``val`` / ``test``; layout in :mod:`pde2gnn.simulate`).

    Raises:
        DataError: a missing file or key, a file that is not an .npz archive (e.g. one .npy
            array), an array that is not numbers (an object array), wrong shapes, no nodes or
            no trajectories, NaN / inf frames, fewer than two frames, times that do not
            increase.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file (expected a `pde2gnn simulate` .npz)")
    try:
        z = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{p}: not a readable .npz file ({e})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise DataError(f"{p}: a single array ({type(z).__name__} {list(np.shape(z))}), not an "
                        ".npz archive of named arrays: save frames, times and edge_index with "
                        "numpy.savez (the `pde2gnn simulate` layout)")
    missing = [k for k in ("frames", "times", "edge_index") if k not in z.files]
    if missing:
        raise DataError(f"{p}: missing {', '.join(missing)} (has {', '.join(z.files)}); "
                        "expected the `pde2gnn simulate` layout")

    def get(key, default=None):
        if key not in z.files:
            return default
        try:
            value = z[key]
        except ValueError as e:          # an object array (needs pickle, never loaded)
            raise DataError(f"{p}: array '{key}' cannot be read without pickle ({e}); store "
                            "numbers (float frames and times, integer edge_index)") from None
        if value.dtype.kind not in "biuf":
            raise DataError(f"{p}: array '{key}' holds {value.dtype} values; expected numbers")
        return value

    return Trajectories(get("frames"), get("times"), get("edge_index"), get("pos"),
                        *(get(k, np.zeros(0, int)) for k in ("train", "val", "test")),
                        source=str(p))
