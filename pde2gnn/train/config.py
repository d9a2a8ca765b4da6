"""Per-data-set hyperparameter defaults shipped next to library specs (``library/NAME.toml``).

A TOML file has a ``[default]`` table and one table per data set (``[Cora]``, ``[CiteSeer]``...);
the data set's table overrides the defaults, and command-line options override both. Keys are
:class:`~pde2gnn.train.tasks.node_classification.TrainConfig` fields, plus the solver's (``method``,
``rtol``, ``atol``, ``step_size``, ``adjoint``, ``max_nfe``) and ``[*.dims]`` / ``[*.params]``.

Inheritance follows the spec's: for ``model b extends a``, ``b``'s defaults start from ``a``'s
``[default]`` (``a.toml``, itself inherited in turn), whether or not ``b.toml`` exists. ``a``'s
per-data-set tables do not leak into ``b`` unless ``b.toml`` asks with ``inherit_datasets =
true``. A top-level ``inherit = "other"`` names the parent TOML explicitly, for a spec that does
not extend ``other`` (e.g. ``dnnd`` sharing ``ndcn``'s training values). Precedence, lowest
first: parent ``[default]``, parent ``[DATASET]`` (if inherited), ``[default]``, ``[DATASET]``.
"""
from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:        # Python 3.10: the same parser as the tomli package
    import tomli as tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, Optional

from pde2gnn.errors import OptionError
from pde2gnn.compiler.lang.inherit import find_parent, model_decl
from pde2gnn.compiler.lang.parser import parse_file
from pde2gnn.integrate.solver_config import SolverConfig
from pde2gnn.train.train_config import TrainConfig

SOLVER_KEYS = {f.name for f in fields(SolverConfig)}
TRAIN_KEYS = {f.name for f in fields(TrainConfig)} - {"solver"}


def _read(toml: Path) -> Dict[str, Any]:
    try:
        return tomllib.loads(toml.read_text())
    except tomllib.TOMLDecodeError as e:
        raise OptionError(f"{toml}: {e}") from None


def load_defaults(spec_path: Path, dataset: Optional[str]) -> Dict[str, Any]:
    """Flat dict of defaults for ``dataset`` (``None``: the ``[default]`` tables only) from the
    TOML beside ``spec_path`` and its parents' (may be empty); see the module docstring.

    Raises:
        OptionError: a TOML that does not parse, or an unknown parent.
        SpecError: the spec (read for its ``extends``) does not parse.
    """
    toml = spec_path.with_suffix(".toml")
    table = _read(toml) if toml.is_file() else {}
    parent = table.get("inherit")
    if parent is None and spec_path.is_file():
        model = model_decl(parse_file(spec_path))
        parent = model.parent if model is not None else None
    out: Dict[str, Any] = {}
    if parent is not None:
        out = load_defaults(find_parent(parent, str(spec_path)),
                            dataset if table.get("inherit_datasets", False) else None)
    by_lower = {k.lower(): k for k in table}
    sections = ["default"] + ([by_lower.get(dataset.lower(), dataset)] if dataset else [])
    for section in sections:
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
