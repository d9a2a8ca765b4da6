"""Pictures of a run: the PNG panels (:func:`plot_fields`, one row per field) and the movie
(:func:`write_movie`, ``--movie out.gif|out.mp4``), both of the first trajectory on every node.

How a field is drawn (:class:`View`): on a 2-D regular grid an image (``imshow``); on a mesh
(triangles given, or a Delaunay graph) ``tripcolor``; on other graphs with 2-D coordinates a
scatter at the positions; without coordinates a scatter at a spring layout of the graph
(networkx, seeded) when it has at most 5000 nodes, else the values against the node index.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from pde2gnn.errors import OptionError

CMAP = "RdBu_r"


@dataclass
class View:
    """Where the nodes are drawn.

    Attributes:
        pos: ``[N, 2]`` positions (coordinates or a layout), or None (values against the node).
        grid: ``(n_x, n_y)`` when the nodes are a regular grid in C order (axis 0 = x slowest).
        cells: triangles ``[F, 3]``, or None; mesh: triangulate ``pos`` (Delaunay).
    """

    pos: Optional[np.ndarray]
    grid: Optional[Sequence[int]] = None
    cells: Optional[np.ndarray] = None
    mesh: bool = False


def make_view(pos, edge_index, grid_n: Optional[int], cells=None, mesh: bool = False,
              seed: int = 0) -> View:
    """The :class:`View` of a graph: ``pos`` ``[N, D]`` or None, ``edge_index`` ``[2, E]``,
    ``grid_n`` the points per axis of a regular grid (None otherwise)."""
    if pos is not None and pos.shape[1] == 2:
        return View(pos, (grid_n, grid_n) if grid_n else None, cells, mesh or cells is not None)
    if pos is not None and pos.shape[1] == 1:
        return View(None)
    ei = np.asarray(edge_index)
    n = int(pos.shape[0]) if pos is not None else int(ei.max()) + 1 if ei.size else 0
    if pos is None and 0 < n <= 5000:
        import networkx as nx
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(ei.T.tolist())
        lay = nx.spring_layout(g, seed=seed)
        return View(np.array([lay[i] for i in range(n)]))
    return View(None)


class _Panel:
    """One field drawn on one axis; :meth:`update` redraws it with new values ``[N]``."""

    def __init__(self, ax, view: View, values: np.ndarray, lo: float, hi: float):
        self.view = view
        kw = dict(vmin=lo, vmax=hi, cmap=CMAP)
        p = view.pos
        if view.grid is not None:
            self.art = ax.imshow(values.reshape(view.grid).T, origin="lower", extent=(
                p[:, 0].min(), p[:, 0].max(), p[:, 1].min(), p[:, 1].max()), **kw)
        elif view.mesh:
            self.art = ax.tripcolor(p[:, 0], p[:, 1], values, triangles=view.cells,
                                    shading="gouraud", **kw)
            ax.set_aspect("equal")
            ax.margins(0)
        elif p is not None:
            self.art = ax.scatter(p[:, 0], p[:, 1], c=values, s=max(1.0, 4e3 / len(p)), **kw)
            ax.set_aspect("equal")
        else:
            (self.art,) = ax.plot(values, lw=0.8)
            ax.set_ylim(lo, hi)
            ax.set_xlabel("node")
        ax.set_xticks([])
        ax.set_yticks([])

    def update(self, values: np.ndarray) -> None:
        v = self.view
        if v.grid is not None:
            self.art.set_data(values.reshape(v.grid).T)
        elif v.mesh or v.pos is not None:
            self.art.set_array(values)
        else:
            self.art.set_ydata(values)


def _limits(x: np.ndarray):
    lo, hi = float(x.min()), float(x.max())
    return (lo, hi) if hi > lo else (lo - 1e-9 - abs(lo) * 1e-6, hi + 1e-9 + abs(hi) * 1e-6)


def plot_fields(frames: Dict[str, np.ndarray], times: np.ndarray, view: View, path: str,
                title: str, count: int = 5) -> None:
    """PNG of ``count`` frames of one trajectory, one row per field (``frames`` ``{f: [T, N]}``),
    colour limits per field (its range over the frames), matplotlib Agg."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = np.unique(np.linspace(0, len(times) - 1, count).round().astype(int))
    F = len(frames)
    fig, axes = plt.subplots(F, len(ks), figsize=(2.6 * len(ks), 2.9 * F + 0.3), squeeze=False)
    for row, (name, x) in zip(axes, frames.items()):
        lo, hi = _limits(x)
        for ax, k in zip(row, ks):
            _Panel(ax, view, x[k], lo, hi)
            ax.set_title(f"{name}, t = {times[k]:.4g}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def ffmpeg_path() -> Optional[str]:
    """The ffmpeg executable: ``ffmpeg`` on the PATH, else the one the optional package
    ``imageio-ffmpeg`` ships (``pip install pde2gnn[movie]``), else None."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


def movie_writer(path: str):
    """(matplotlib writer class, its name) for ``path``: a ``.gif`` by Pillow's writer, an
    ``.mp4`` by ffmpeg (H.264) where :func:`ffmpeg_path` finds it (matplotlib's
    ``animation.ffmpeg_path`` is set to it).

    Raises:
        OptionError: another suffix than .gif / .mp4, or .mp4 without ffmpeg.
    """
    import matplotlib
    from matplotlib import animation

    suffix = Path(path).suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise OptionError(f"--movie writes .gif or .mp4, got '{path}'")
    if suffix == ".gif":
        return animation.PillowWriter, "pillow"
    exe = ffmpeg_path()
    if exe:
        matplotlib.rcParams["animation.ffmpeg_path"] = exe
        return animation.FFMpegWriter, "ffmpeg"
    raise OptionError(f"--movie {path}: an .mp4 needs ffmpeg (not on the PATH, and the "
                      "package imageio-ffmpeg is not installed: pip install "
                      "'pde2gnn[movie]'); write a .gif instead (Pillow)")


def write_movie(frames: Dict[str, np.ndarray], times: np.ndarray, view: View, path: str,
                title: str, fps: int = 10) -> dict:
    """A movie of one trajectory, one panel per field side by side, one movie frame per saved
    frame (``frames`` ``{f: [T, N]}``, ``times`` ``[T]``), colour limits per field fixed over
    the run. Returns ``{"movie": path, "frames": T, "writer": name}``.

    Raises:
        OptionError: see :func:`movie_writer`.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import animation

    writer_cls, name = movie_writer(path)
    F = len(frames)
    fig, axes = plt.subplots(1, F, figsize=(3.6 * F, 3.9), squeeze=False)
    panels = []
    for ax, (f, x) in zip(axes[0], frames.items()):
        lo, hi = _limits(x)
        panels.append((_Panel(ax, view, x[0], lo, hi), x))
        ax.set_title(f, fontsize=9)
    label = fig.suptitle(f"{title}   t = {times[0]:.4g}", fontsize=9)
    fig.tight_layout()

    def draw(k):
        for panel, x in panels:
            panel.update(x[k])
        label.set_text(f"{title}   t = {times[k]:.4g}")
        return [p.art for p, _ in panels]

    anim = animation.FuncAnimation(fig, draw, frames=len(times), blit=False)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    anim.save(path, writer=writer_cls(fps=fps), dpi=80)
    plt.close(fig)
    return {"movie": str(path), "frames": int(len(times)), "writer": name}
