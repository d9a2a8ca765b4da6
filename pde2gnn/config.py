"""Per-data-set hyperparameter defaults shipped next to library specs (``library/NAME.toml``).

A TOML file has a ``[default]`` table and one table per data set (``[Cora]``, ``[CiteSeer]``...);
the data set's table overrides the defaults, and command-line options override both. A top-level
``inherit = "other"`` reads ``other.toml`` first (spec variants share their hyperparameters). Keys are
:class:`~pde2gnn.tasks.node_classification.TrainConfig` fields, plus the solver's (``method``,
``rtol``, ``atol``, ``step_size``, ``adjoint``, ``max_nfe``) and ``[*.dims]`` / ``[*.params]``.
"""
from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:        # Python 3.10: the same parser as the tomli package
    import tomli as tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict

from .errors import OptionError
from .solve import SolverConfig
from .tasks.node_classification import TrainConfig

SOLVER_KEYS = {f.name for f in fields(SolverConfig)}
TRAIN_KEYS = {f.name for f in fields(TrainConfig)} - {"solver"}


def load_defaults(spec_path: Path, dataset: str) -> Dict[str, Any]:
    """Flat dict of defaults for ``dataset`` from the TOML beside ``spec_path`` (may be empty)."""
    toml = spec_path.with_suffix(".toml")
    if not toml.is_file():
        return {}
    try:
        table = tomllib.loads(toml.read_text())
    except tomllib.TOMLDecodeError as e:
        raise OptionError(f"{toml}: {e}") from None
    out: Dict[str, Any] = {}
    if "inherit" in table:  # e.g. graff_dd.toml: inherit = "graff" reads graff.toml first
        out = load_defaults(spec_path.with_name(f"{table['inherit']}.pde"), dataset)
    by_lower = {k.lower(): k for k in table}
    for section in ("default", by_lower.get(dataset.lower(), dataset)):
        for k, v in table.get(section, {}).items():
            if isinstance(v, dict):
                out[k] = {**out.get(k, {}), **v}
            else:
                out[k] = v
    return out


def make_config(values: Dict[str, Any]) -> TrainConfig:
    """Build a :class:`TrainConfig` from a flat dict of train and solver keys.

    Raises:
        OptionError: an unknown key.
    """
    unknown = set(values) - SOLVER_KEYS - TRAIN_KEYS
    if unknown:
        raise OptionError(f"unknown hyperparameter(s): {', '.join(sorted(unknown))}")
    solver = SolverConfig(**{k: v for k, v in values.items() if k in SOLVER_KEYS})
    return TrainConfig(**{k: v for k, v in values.items() if k in TRAIN_KEYS}, solver=solver)
