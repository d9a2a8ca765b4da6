"""Every library spec's hyperparameter defaults, for every data set, are those recorded in
``tests/golden/configs.json``: a guard for changes to the TOML files and to how they inherit.

For each library spec and each data set name (the node-classification data sets, every section
name of a library TOML such as ``ndcn_heat``, and ``-``: no data-set section) the golden holds
the flat dict of :func:`pde2gnn.train.config.load_defaults` and the :class:`TrainConfig` that
:func:`pde2gnn.train.config.make_config` builds from it (or the error it raises: the dynamics and
forecasting TOMLs hold keys of other tasks), written as its fields that differ from the built-in
configuration (``make_config({})``), which is recorded once under ``_builtin``: a new option
adds one line, not one per spec and data set. Re-record (only when a change of the defaults is
intended) with ``python tests/train/test_config_golden.py --record``.
"""
import dataclasses
import json
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:        # Python 3.10
    import tomli as tomllib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.specs import ALL_SPECS  # noqa: E402

from pde2gnn.train.config import load_defaults, make_config
from pde2gnn.data.datasets import DATASETS
from pde2gnn.errors import Pde2GnnError

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "configs.json"
LIBRARY = ALL_SPECS      # library/*.pde and experiments/*/specs/*.pde
SECTIONS = sorted({k for p in LIBRARY if p.with_suffix(".toml").is_file()
                   for k, v in tomllib.loads(p.with_suffix(".toml").read_text()).items()
                   if isinstance(v, dict)} - {"default"} - set(DATASETS))


def _json(value):
    return json.loads(json.dumps(value))


BUILTIN = _json(dataclasses.asdict(make_config({})))


def _delta(config: dict, base: dict) -> dict:
    """The entries of ``config`` that differ from ``base`` (nested dicts entry by entry)."""
    out = {}
    for k, v in config.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict) and set(v) >= set(base[k]):
            if _delta(v, base[k]):
                out[k] = _delta(v, base[k])
        elif k not in base or base[k] != v:
            out[k] = v
    return out


def defaults_of(path: Path) -> dict:
    """``{dataset: {"values": ..., "config": ... | "error": ...}}`` for one spec."""
    out = {}
    for ds in ("-",) + DATASETS + tuple(SECTIONS):
        values = load_defaults(path, ds)
        try:
            config = _delta(_json(dataclasses.asdict(make_config(dict(values)))), BUILTIN)
        except Pde2GnnError as e:
            config = f"error: {e}"
        out[ds] = _json({"values": values, "config": config})
    return out


def test_builtin_config_unchanged():
    assert BUILTIN == json.loads(GOLDEN.read_text())["_builtin"]


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_defaults_unchanged(path):
    golden = json.loads(GOLDEN.read_text())
    assert path.stem in golden, f"no recorded defaults for {path.stem}: run --record"
    assert defaults_of(path) == golden[path.stem]


if __name__ == "__main__" and "--record" in sys.argv:
    specs = {p.stem: defaults_of(p) for p in LIBRARY}
    GOLDEN.write_text(json.dumps({"_builtin": BUILTIN, **specs}, indent=1, sort_keys=True) + "\n")
    print(f"recorded {GOLDEN}")
