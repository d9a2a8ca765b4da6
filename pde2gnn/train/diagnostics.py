"""Energy diagnostics of a trained continuous-depth model (Di Giovanni et al. 2022, section 4).

- :func:`dirichlet_energy`: normalised Dirichlet energy of a node signal,
  ``E(X) = 1/2 sum_(i,j) |x_i / sqrt(d_i) - x_j / sqrt(d_j)|^2 / |X|^2 = tr(X^T (I - Abar) X) / |X|^2``,
  in ``[0, 1 - lambda_min(Abar)]``. Along a low-frequency-dominated (LFD) flow it tends to 0
  (over-smoothing); along a high-frequency-dominated (HFD) one to the top of the spectrum.
- :func:`spectral_class`: LFD / HFD from the spectra of W, Omega and Abar (paper, Theorem 4.3):
  the fastest-growing mode of -X Omega + Abar X W is the smoothest eigenvector of Abar (LFD) or
  the most oscillating one (HFD).
- :func:`energy_report`: both for a trained :class:`~pde2gnn.models.continuous_gnn.ContinuousGNN`,
  and a PNG of the energy along the trained flow (source term included, so it need not reach
  0 or the top of the range).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla
import torch
from torch import Tensor

from pde2gnn.compiler.backend.graph_ops import GraphOps
from pde2gnn.integrate.solve import EulerLayers


def dirichlet_energy(x: Tensor, graph: GraphOps) -> float:
    """Normalised Dirichlet energy of ``x`` ``[N, c]`` on ``graph`` (0 for x = 0)."""
    norm2 = float((x * x).sum())
    if norm2 == 0.0:
        return 0.0
    ax = graph.spmm(graph.edge_values(graph.abar), x)
    return float(norm2 - (x * ax).sum()) / norm2


def abar_extreme_eigenvalues(graph: GraphOps):
    """(lambda_min, lambda_max) of Abar = D^-1/2 A D^-1/2 (dense for N <= 3000, else Lanczos)."""
    n = graph.num_nodes
    vals = graph.abar.reshape(-1).double().cpu().numpy()
    a = sps.csr_matrix((vals, (graph.i.cpu().numpy(), graph.j.cpu().numpy())), shape=(n, n))
    a = 0.5 * (a + a.T)
    if n <= 3000:
        ev = np.linalg.eigvalsh(a.toarray())
        return float(ev[0]), float(ev[-1])
    lo = spla.eigsh(a, k=1, which="SA", return_eigenvectors=False, tol=1e-6)[0]
    hi = spla.eigsh(a, k=1, which="LA", return_eigenvectors=False, tol=1e-6)[0]
    return float(lo), float(hi)


def spectral_class(w: Tensor, lam_min: float, lam_max: float,
                   omega: Optional[Tensor] = None) -> dict:
    """LFD / HFD of dX/dt = -X Omega + Abar X W (symmetric W and Omega) from the spectra.

    For an eigenvector phi of Abar with eigenvalue lambda, the subspace {phi v^T} is invariant and
    the flow acts on v by M(lambda) = lambda W - Omega. The largest eigenvalue of M(lambda) is
    convex in lambda, so the fastest-growing mode lies at lambda_max(Abar) (the smoothest mode:
    low-frequency dominated, LFD) or at lambda_min(Abar) (the most oscillating one: HFD)
    (Di Giovanni et al. 2022, Theorem 4.3; with Omega = 0 it compares lambda_max mu_max(W) with
    lambda_min mu_min(W)).

    Returns ``{'mu_min', 'mu_max', 'rate_low', 'rate_high', 'class'}``: the extreme eigenvalues
    of W and the growth rates of the smoothest and the most oscillating modes.
    """
    w = 0.5 * (w + w.T).detach().double().cpu()
    om = torch.zeros_like(w) if omega is None else 0.5 * (omega + omega.T).detach().double().cpu()
    mu = torch.linalg.eigvalsh(w)
    low = float(torch.linalg.eigvalsh(lam_max * w - om)[-1])
    high = float(torch.linalg.eigvalsh(lam_min * w - om)[-1])
    return {"mu_min": float(mu[0]), "mu_max": float(mu[-1]), "rate_low": low, "rate_high": high,
            "class": "HFD" if high > low else "LFD"}


def euler_steps(model, horizon_factor: float):
    """``(fields, step)``: the vector field of each explicit Euler step of the energy
    trajectory, and the step. An :class:`~pde2gnn.integrate.solve.ODEBlock` repeats its one field up to
    ``horizon_factor * T`` with its fixed step (T / 20 for adaptive methods); per-layer weights
    (:class:`~pde2gnn.integrate.solve.EulerLayers`) have one field per layer and end at T, since no
    weights exist beyond the last layer."""
    ode = model.ode
    if isinstance(ode, EulerLayers):
        return list(ode.fields), ode.time / len(ode.fields)
    step = ode.config.step_size or ode.time / 20
    return [ode.field] * int(round(horizon_factor * ode.time / step)), step


@torch.no_grad()
def trajectory_energy(model, x: Tensor, fields, step: float):
    """Explicit Euler trajectory z_{k+1} = z_k + step f_k(k step, z_k) from the model's encoded
    input z_0 = ``model.encode(x)`` (eval mode: no dropout), f_k = ``fields[k]``; the energy at
    every step.

    Returns (times, energies) as lists; stops early if the state stops being finite.
    """
    model.eval()
    z = model.encode(x)
    for f in dict.fromkeys(fields):
        f.prepare(z)
    graph = fields[0].graph
    times, energies = [0.0], [dirichlet_energy(z, graph)]
    t = 0.0
    for f in fields:
        z = z + step * f(torch.tensor(t, dtype=z.dtype, device=z.device), z)
        t += step
        if not torch.isfinite(z).all():
            break
        times.append(t)
        energies.append(dirichlet_energy(z, graph))
    return times, energies


def energy_report(model, data, path: Optional[str] = None, horizon_factor: float = 5.0) -> dict:
    """Dirichlet energy along the trained model's flow (to ``horizon_factor * T``; to T for
    per-layer weights, :func:`euler_steps`), LFD / HFD.

    Writes a PNG to ``path`` (matplotlib) if given. Returns a JSON-able dict with ``times``,
    ``energy``, ``spectral`` (see :func:`spectral_class`, when the spec has a square ``W``; of
    the first layer with per-layer weights) and a one-line ``summary``.
    """
    T = model.ode.time
    fields, step = euler_steps(model, horizon_factor)
    x = data.x
    if model.config.normalize_features:   # the features the model was trained on
        from torch_geometric.transforms import NormalizeFeatures
        from torch_geometric.data import Data
        x = NormalizeFeatures()(Data(x=x)).x
    device = next(model.parameters()).device
    times, energy = trajectory_energy(model, x.to(device), fields, step)
    lam_min, lam_max = abar_extreme_eigenvalues(model.field.graph)
    rep = {"times": times, "energy": energy, "lambda_min_abar": lam_min,
           "lambda_max_abar": lam_max, "max_energy": 1.0 - lam_min}
    learned = model.field.learned()
    w, omega = learned.get("W"), learned.get("Omega")
    if omega is not None and omega.dim() != 2:
        omega = None
    if w is not None and w.dim() == 2 and w.shape[0] == w.shape[1]:
        rep["spectral"] = spectral_class(w, lam_min, lam_max, omega)
    trend = "rising" if energy[-1] > energy[0] else "falling"
    rep["energy_trend"] = trend
    spec = rep.get("spectral", {}).get("class", "n/a")
    rep["summary"] = (f"Dirichlet energy of x/|x|: {energy[0]:.3f} at t=0, "
                      f"{energy[min(len(energy) - 1, int(round(T / step)))]:.3f} at T={T:g}, "
                      f"{energy[-1]:.3f} at t={times[-1]:g} (range [0, {1 - lam_min:.3f}]); "
                      f"energy {trend}; spectrum of W, Omega vs Abar: {spec}")
    if path:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(times, energy, marker=".", label="E(x(t)/|x(t)|)")
        ax.axvline(T, ls="--", c="gray", lw=0.8, label=f"T = {T:g}")
        ax.axhline(1 - lam_min, ls=":", c="red", lw=0.8, label="1 - lambda_min(Abar)")
        ax.axhline(0, ls=":", c="blue", lw=0.8)
        ax.set_xlabel("t")
        ax.set_ylabel("normalised Dirichlet energy")
        ax.set_title(f"{model.field.program.ir.name}: {spec} (spectrum); energy {trend}")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        rep["plot"] = str(path)
    return rep
