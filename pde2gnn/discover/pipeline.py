"""The discovery pipeline: options, result, :func:`discover`, the found spec, and ``run``
(``pde2gnn discover``)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from pde2gnn.errors import DataError
from pde2gnn.options import check_fields, check_params
from pde2gnn.discover.data import Trajectories, load_trajectories
from pde2gnn.discover.gram import TermEvaluator, trajectory_gram
from pde2gnn.discover.library import Library, _is_number, load_library
from pde2gnn.discover.regression import _fit, _sse, bootstrap, cross_validate, threshold_grid
from pde2gnn.discover.validation import validate


@dataclass
class DiscoveryConfig:
    """Options of :func:`discover`.

    Attributes:
        window, order: frames and polynomial degree of the local fit for dx/dt and the
            smoothed states (odd window).
        weak_window: > 0: fit the weak (integral) form on test functions spanning this many
            frames instead of dx/dt (:func:`weak_form_operators`).
        folds: cross-validation folds over trajectories. bootstrap: resamples for the spread.
        threshold: fix the STLSQ threshold (normalised units) instead of cross-validating.
        tolerance: relative CV tolerance of the selection (:func:`cross_validate`).
        max_trajectories: fit on at most this many of the fitting trajectories (0: all).
        params: overrides of the library's params. seed: folds and bootstrap.
    """

    window: int = 7
    order: int = 3
    weak_window: int = 0
    folds: int = 5
    bootstrap: int = 100
    threshold: Optional[float] = None
    tolerance: float = 0.1
    max_trajectories: int = 0
    params: Dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self):
        """Raises OptionError: a field out of its range (:data:`pde2gnn.options.RULES`) or a
        non-finite param."""
        check_fields(self)
        check_params(self.params)


@dataclass
class Discovery:
    """Result of :func:`discover`.

    Attributes:
        library: the candidates. coefficients: ``[K]`` (0 for dropped terms), in the data's
        time units. std: bootstrap standard deviation ``[K]``. inclusion: fraction of bootstrap
        fits keeping each term ``[K]``. threshold: the STLSQ threshold used. cv: the
        cross-validation table (:func:`cross_validate`). residual: relative squared error of
        dx/dt on the fitting data. seconds: wall time (features, regression, total).
    """

    library: Library
    coefficients: np.ndarray
    std: np.ndarray
    inclusion: np.ndarray
    threshold: float
    cv: Optional[dict]
    residual: float
    fit_trajectories: List[int]
    seconds: Dict[str, float]
    config: DiscoveryConfig

    @property
    def active(self) -> List[int]:
        return [k for k, c in enumerate(self.coefficients) if c != 0]

    def equation(self, digits: int = 4) -> str:
        """The found right-hand side, e.g. ``0.9998*lap(x) - 1.001*x^3`` (``0`` if empty)."""
        out = ""
        for k in self.active:
            c, t = self.coefficients[k], self.library.terms[k]
            mag = f"{abs(c):.{digits}g}"
            body = mag if _is_number(t) and float(t) == 1 else f"{mag}*{t}"
            out += (" - " if c < 0 else " + ") + body if out else ("-" if c < 0 else "") + body
        return out or "0"

    def to_dict(self) -> dict:
        terms = [{"term": t, "coefficient": float(self.coefficients[k]),
                  "bootstrap_std": float(self.std[k]), "inclusion": float(self.inclusion[k])}
                 for k, t in enumerate(self.library.terms)]
        return {"library": self.library.name, "field": self.library.field,
                "equation": f"dt({self.library.field}) = {self.equation()}",
                "active": [self.library.terms[k] for k in self.active], "terms": terms,
                "threshold": self.threshold, "residual": self.residual,
                "fit_trajectories": len(self.fit_trajectories), "seconds": self.seconds,
                "config": asdict(self.config), "cv": self.cv}


def discover(data: Trajectories, library: Optional[Library] = None,
             config: Optional[DiscoveryConfig] = None) -> Discovery:
    """Find the sparse combination of candidate terms that best explains dx/dt of ``data``.

    Uses the fitting trajectories (train + val; ``test`` is held out for :func:`validate`).

    Raises:
        DataError: bad data (see :class:`Trajectories`), too few trajectories, candidate terms
            not finite on the data. SpecError: a bad library. OptionError: bad options.
    """
    cfg = config or DiscoveryConfig()
    lib = library or load_library(None)
    t0 = time.perf_counter()
    idx = data.fit_indices()
    if cfg.max_trajectories:
        idx = idx[:cfg.max_trajectories]
    if len(idx) == 0:
        raise DataError(f"{data.source}: no trajectories left to fit (all are in the test split)")
    ev = TermEvaluator(lib, data.edge_index, data.shape[2], data.pos, cfg.params)
    grams = trajectory_gram(ev, data.frames[idx], data.times, cfg.window, cfg.order,
                            cfg.weak_window)
    t1 = time.perf_counter()
    cv = None
    if cfg.threshold is None:
        cv = cross_validate(grams, threshold_grid(grams), cfg.folds, cfg.seed, cfg.tolerance)
        lam = cv["chosen"]
    else:
        lam = float(cfg.threshold)
    coef = _fit(grams, lam)
    boot = bootstrap(grams, lam, cfg.bootstrap, cfg.seed) if cfg.bootstrap else coef[None]
    G, h, yy = grams.total()
    t2 = time.perf_counter()
    return Discovery(lib, coef, boot.std(0), (boot != 0).mean(0), lam, cv,
                     _sse(coef, G, h, yy) / max(yy, 1e-300), idx.tolist(),
                     {"features": t1 - t0, "regression": t2 - t1, "total": t2 - t0}, cfg)


def found_spec(found: Discovery, name: Optional[str] = None) -> str:
    """The found equation as spec text: the library's declarations, a comment per term with
    its bootstrap spread, and ``dt(field) = ...`` with the coefficients written out.

    The result parses and checks (``pde2gnn check``) and runs with ``simulate`` and ``train``.
    """
    lib = found.library
    name = name or f"{lib.name}_found"
    lines = []
    for raw in lib.header.splitlines():
        s = raw.strip()
        if s.startswith("model "):
            lines.append(f"model {name}")
            lines.append(f"# found by `pde2gnn discover` from the candidates of '{lib.name}' "
                         f"(STLSQ threshold {found.threshold:.3g}, relative residual "
                         f"{found.residual:.3g})")
            for k, t in enumerate(lib.terms):
                if found.coefficients[k] != 0 or found.inclusion[k] > 0:
                    lines.append(f"#   {t:<40s} {found.coefficients[k]: .6g} +- "
                                 f"{found.std[k]:.2g} (kept in {100 * found.inclusion[k]:.0f} % "
                                 "of bootstrap fits)")
        elif not s.startswith("#") or lines:
            lines.append(raw)
    eq = found.equation(6)
    if eq == "0":
        eq = f"0*{lib.field}"
    lines.append(f"dt({lib.field}) = {eq}")
    return "\n".join(lines) + "\n"


def summary_lines(found: Discovery) -> List[str]:
    """Human-readable lines: the equation, then each kept term with its spread."""
    lib = found.library
    out = [f"dt({lib.field}) = {found.equation()}",
           f"  threshold {found.threshold:.3g}" +
           (" (cross-validated, one-standard-error rule)" if found.cv else " (given)") +
           f", relative residual of dx/dt {found.residual:.3g}, "
           f"{len(found.fit_trajectories)} trajectories, {found.seconds['total']:.2f} s"]
    for k, t in enumerate(lib.terms):
        if found.coefficients[k] != 0 or found.inclusion[k] >= 0.05:
            out.append(f"  {t:<40s} {found.coefficients[k]: .6g} +- {found.std[k]:.2g}  "
                       f"(in {100 * found.inclusion[k]:.0f} % of bootstrap fits)")
    return out


def run(data_path: str, library: Optional[str] = None, out: Optional[str] = None,
        config: Optional[DiscoveryConfig] = None, noise: float = 0.0,
        png: Optional[str] = None, results: Optional[str] = None,
        log=print) -> dict:
    """``pde2gnn discover``: load, (optionally) add observation noise, discover, write the
    found spec to ``out`` (default ``discovered/<data stem>.pde``), validate it on the held-out
    trajectories (plot at ``png``, default beside ``out``) and write a JSON summary to
    ``results``. Returns the summary.

    Raises:
        DataError, SpecError, OptionError, SolverError: as :func:`discover` / :func:`validate`.
    """
    cfg = config or DiscoveryConfig()
    data = load_trajectories(data_path)
    if noise:
        data = data.with_noise(noise, cfg.seed)
    lib = load_library(library)
    found = discover(data, lib, cfg)
    for line in summary_lines(found):
        log(line)
    out = Path(out or Path("discovered") / (Path(data_path).stem + ".pde"))
    text = found_spec(found, out.stem.replace("-", "_") if out.stem.isidentifier() else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    log(f"wrote {out}")
    png = png or str(out.with_suffix(".png"))
    val = validate(text, data, None, png)
    log(f"validation on {len(val['trajectories'])} held-out trajectories: relative L2 error "
        f"{val['rel_l2']:.3g}, MAE {val['mae']:.3g} ({val['nfe']} evaluations); plot {png}")
    summary = {"data": str(data_path), "noise": noise, "library": library or "default",
               "found_spec": str(out), **found.to_dict(), "validation": val}
    if results:
        Path(results).parent.mkdir(parents=True, exist_ok=True)
        Path(results).write_text(json.dumps(summary, indent=1))
        log(f"results written to {results}")
    return summary
