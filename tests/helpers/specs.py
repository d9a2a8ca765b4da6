"""The spec files the golden tests iterate over: the canonical models in ``library/`` and the
ablation specs of the studies in ``experiments/<study>/specs/`` (mostly ``extends`` of a library
model), so a change of the compiler that breaks an experiment's spec fails here too."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_SPECS = sorted((ROOT / "library").glob("*.pde"))
EXPERIMENT_SPECS = sorted((ROOT / "experiments").glob("*/specs/*.pde"))
ALL_SPECS = sorted(LIBRARY_SPECS + EXPERIMENT_SPECS, key=lambda p: p.stem)
