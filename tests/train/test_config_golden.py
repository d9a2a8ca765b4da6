"""Every library spec's hyperparameter defaults, for every data set, are those recorded in
``tests/golden/configs.json``: a guard for changes to the TOML files and to how they inherit.

For each library spec and each data set name (the node-classification data sets, every section
name of a library TOML such as ``ndcn_heat``, and ``-``: no data-set section) the golden holds
the flat dict of :func:`pde2gnn.train.config.load_defaults` and the :class:`TrainConfig` that
:func:`pde2gnn.train.config.make_config` builds from it (or the error it raises: the dynamics and
forecasting TOMLs hold keys of other tasks). Re-record (only when a change of the defaults is
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


def defaults_of(path: Path) -> dict:
    """``{dataset: {"values": ..., "config": ... | "error": ...}}`` for one spec."""
    out = {}
    for ds in ("-",) + DATASETS + tuple(SECTIONS):
        values = load_defaults(path, ds)
        try:
            config = dataclasses.asdict(make_config(dict(values)))
        except Pde2GnnError as e:
            config = f"error: {e}"
        out[ds] = json.loads(json.dumps({"values": values, "config": config}))
    return out


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_defaults_unchanged(path):
    golden = json.loads(GOLDEN.read_text())
    assert path.stem in golden, f"no recorded defaults for {path.stem}: run --record"
    assert defaults_of(path) == golden[path.stem]


if __name__ == "__main__" and "--record" in sys.argv:
    GOLDEN.write_text(json.dumps({p.stem: defaults_of(p) for p in LIBRARY}, indent=1,
                                 sort_keys=True) + "\n")
    print(f"recorded {GOLDEN}")
