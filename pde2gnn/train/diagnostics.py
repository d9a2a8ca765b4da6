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

import inspect

from typing import List, Optional

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla
import torch
from torch import Tensor, nn

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


# --- per-epoch training diagnostics (issue 39: BLEND against its reference, epoch by epoch) ---

def accepted_steps(attempts) -> dict:
    """Accepted / rejected steps of one adaptive solve from its attempted steps ``[(t0, dt)]``
    in the order tried: an attempt is accepted when the next one starts later (a rejected step
    is retried from the same t0 with a smaller dt); the last one ends the solve.

    Returns ``{'accepted', 'rejected', 'dt_first', 'dt_min', 'dt_median', 'dt_max'}`` (dt in
    the ODE's time units over the accepted steps; None without attempts).
    """
    acc, rej = [], 0
    for k, (t0, dt) in enumerate(attempts):
        if k + 1 == len(attempts) or attempts[k + 1][0] > t0:
            acc.append(dt)
        else:
            rej += 1
    if not acc:
        return {"accepted": 0, "rejected": rej, "dt_first": None, "dt_min": None,
                "dt_median": None, "dt_max": None}
    return {"accepted": len(acc), "rejected": rej, "dt_first": acc[0], "dt_min": min(acc),
            "dt_median": float(np.median(acc)), "dt_max": max(acc)}


@torch.no_grad()
def attention_stats(a: Tensor, group: Tensor, num_nodes: int) -> dict:
    """Statistics of attention weights ``a`` ``[E]`` or ``[E, H]`` (H heads) normalised over
    the edges sharing ``group`` ``[E]`` (node ids < ``num_nodes``; for the column-normalised
    BLEND attention, the source node j).

    Returns ``mean``, ``max`` and ``min`` of the head-averaged weights, ``entropy`` (nats: mean
    over groups of -sum_e a_e log a_e of the head-averaged weights), ``entropy_heads`` (the same
    per head, averaged over heads), ``entropy_uniform`` (mean of log |group|: the entropy of
    uniform weights, which every attention reaches when its scores are all equal) and
    ``colsum_err`` (max |sum_e a_e - 1| over the groups, a check of the normalisation).
    """
    a = a.detach().double()
    a = a.reshape(a.shape[0], -1)
    g = group.reshape(-1).long()

    def entropy(w):                         # [E, c] -> mean over groups and channels
        h = torch.zeros(num_nodes, w.shape[1], dtype=w.dtype, device=w.device)
        h.index_add_(0, g, -w * torch.log(w.clamp_min(1e-300)))
        return float(h[present].mean())

    size = torch.bincount(g, minlength=num_nodes).double()
    present = size > 0
    mean = a.mean(1, keepdim=True)
    sums = torch.zeros(num_nodes, 1, dtype=a.dtype, device=a.device).index_add_(0, g, mean)
    return {"mean": float(mean.mean()), "max": float(mean.max()), "min": float(mean.min()),
            "entropy": entropy(mean), "entropy_heads": entropy(a),
            "entropy_uniform": float(torch.log(size[present]).mean()),
            "colsum_err": float((sums[present] - 1).abs().max())}


def optimizer_groups(opt) -> List[dict]:
    """The optimiser's parameter groups: ``lr``, ``weight_decay``, number of tensors and of
    scalars (parameters without a gradient are counted too: torch's Adam skips them)."""
    return [{"lr": g["lr"], "weight_decay": g.get("weight_decay", 0.0),
             "tensors": len(g["params"]), "numel": sum(p.numel() for p in g["params"])}
            for g in opt.param_groups]


class EpochTrace:
    """Per-epoch diagnostics of a node classifier's training, recorded from outside its training
    loop through torch's global module and optimiser hooks, so the same recorder serves pde2gnn
    and a reference code (one epoch: a training forward, one optimiser step, an evaluation
    forward).

    Args:
        is_model: ``is_model(module) -> bool``, picks the classifier among all modules.
        y: ``[N]`` labels; masks: ``(train, val, test)`` ``[N]`` bool.
        nfe: ``nfe(model) -> int``, the evaluations of the forward solve just done.
        group: ``group(model) -> (index [E], N)``, the normalisation groups of the attention.

    The integrator and attention hooks of each code call :meth:`step` (every attempted step
    ``(t0, dt)``) and :meth:`attention` (the weights ``[E, H]``). ``records`` holds one dict
    per epoch: ``loss`` (training cross-entropy, dropout on), ``train`` / ``val`` / ``test``
    accuracy (evaluation forward), ``nfe_train`` / ``nfe_eval``, ``steps_train`` /
    ``steps_eval`` (:func:`accepted_steps`), ``att_train`` / ``att_eval``
    (:func:`attention_stats`), ``grad_norm`` and ``param_norm`` (name -> 2-norm, before the
    step), ``groups`` (:func:`optimizer_groups`, first epoch only).
    """

    def __init__(self, is_model, y: Tensor, masks, nfe, group):
        self.is_model, self.y, self.masks, self.nfe, self.group = is_model, y, masks, nfe, group
        self.records, self._cur, self._steps, self._att, self._handles = [], {}, [], None, []

    def step(self, t0: float, dt: float) -> None:
        self._steps.append((float(t0), float(dt)))

    def attention(self, a: Tensor) -> None:
        self._att = a.detach()

    def _pre(self, module, args):
        if self.is_model(module):
            self._steps, self._att = [], None
            if module.training:
                self._names = {id(p): n for n, p in module.named_parameters()}
                self._cur = {"epoch": len(self.records), "param_norm": {
                    n: float(p.detach().norm()) for n, p in module.named_parameters()}}

    def _post(self, module, args, out):
        if not self.is_model(module):
            return
        phase = "train" if module.training else "eval"
        idx, n = self.group(module)
        self._cur[f"nfe_{phase}"] = int(self.nfe(module))
        self._cur[f"steps_{phase}"] = accepted_steps(self._steps)
        if self._att is not None:
            self._cur[f"att_{phase}"] = attention_stats(self._att, idx, n)
        with torch.no_grad():
            if module.training:
                m = self.masks[0]
                self._cur["loss"] = float(nn.functional.cross_entropy(out[m], self.y[m]))
            else:
                pred = out.argmax(-1)
                for name, m in zip(("train", "val", "test"), self.masks):
                    self._cur[name] = float((pred[m] == self.y[m]).double().mean())
                self.records.append(self._cur)
                self._cur = {}

    def _opt_pre(self, opt, args, kwargs):
        names = getattr(self, "_names", {})
        self._cur["grad_norm"] = {names.get(id(p), str(id(p))): float(p.grad.norm())
                                  for g in opt.param_groups for p in g["params"]
                                  if p.grad is not None}
        if not self.records:
            self._cur["groups"] = optimizer_groups(opt)

    def __enter__(self):
        from torch.nn.modules import module as M
        from torch.optim import optimizer as O
        self._handles = [M.register_module_forward_pre_hook(self._pre),
                         M.register_module_forward_hook(self._post),
                         O.register_optimizer_step_pre_hook(self._opt_pre)]
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        return False


class Pde2gnnTrace(EpochTrace):
    """:class:`EpochTrace` of ``ContinuousGNN`` training, with the hooks of pde2gnn's adaptive
    Runge-Kutta loop (every attempted step of :func:`pde2gnn.integrate.rk.rk_solve`) and of the
    compiled attention (the per-head weights ``[E, H]`` that ``mean_heads`` averages). Use as
    a context manager around ``pde2gnn train``; the patches are undone on exit.

    Args: ``y`` ``[N]`` labels, ``masks`` ``(train, val, test)`` ``[N]`` bool.
    """

    def __init__(self, y: Tensor, masks):
        from pde2gnn.train.tasks.node_classification import ContinuousGNN
        super().__init__(lambda m: isinstance(m, ContinuousGNN), y, masks,
                         lambda m: m.ode.nfe_forward,
                         lambda m: (m.field.graph.j, m.field.graph.num_nodes))

    def __enter__(self):
        from pde2gnn.compiler.backend.graph_ops import GraphOps as G
        from pde2gnn.integrate import rk
        self._had_own = "mean_heads" in G.__dict__       # else inherited (PointwiseOps)
        self._saved = step0, heads0 = rk._Steps.step, inspect.getattr_static(G, "mean_heads")
        trace = self

        def step(st, t0, dt, *a, **k):
            trace.step(t0, dt)
            return step0(st, t0, dt, *a, **k)

        def mean_heads(e):
            if torch.is_tensor(e) and e.dim() == 2:
                trace.attention(e)
            return heads0.__func__(e)

        rk._Steps.step, G.mean_heads = step, staticmethod(mean_heads)
        return super().__enter__()

    def __exit__(self, *exc):
        from pde2gnn.compiler.backend.graph_ops import GraphOps as G
        from pde2gnn.integrate import rk
        rk._Steps.step, G.mean_heads = self._saved
        if not self._had_own:
            del G.mean_heads
        return super().__exit__(*exc)
