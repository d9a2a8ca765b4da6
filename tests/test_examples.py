"""Every tutorial script in examples/ runs at its smoke size (``--smoke``) and writes its figure.

The tutorials (docs/tutorials/*.md include them) check their own numerics with asserts: the heat
solution against scipy's matrix exponential, GRAFF's derived flow against its hand-written
right-hand side and the monotone energy, identity sheaf maps against ``lap``, the discovered
equation's terms, the E(n) equivariance of EGNN to rounding. Run in-process (``main(argv)``),
so a failure shows the script's own traceback.
"""
import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TUTORIALS = {  # script -> the figure it writes (None: none)
    "heat_on_a_graph": "heat_on_a_graph.png",
    "grand_cora_pdeconv": None,
    "graff_energy": "graff_energy.png",
    "padgn_scattered_points": "padgn_scattered_points.png",
    "stiff_reaction_diffusion": "stiff_reaction_diffusion.png",
    "boundary_conditions": "boundary_conditions.png",
    "discover_equation": "discover_equation.png",
    "sheaf_diffusion": "sheaf_diffusion.png",
    "egnn_point_cloud": "egnn_point_cloud.png",
}


def _load(name):
    spec = importlib.util.spec_from_file_location(f"tutorial_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(TUTORIALS))
def test_tutorial_runs_at_smoke_size(name, tmp_path, monkeypatch, request):
    if name == "grand_cora_pdeconv":       # reads PyG's Planetoid from PDE2GNN_DATA: a copy
        monkeypatch.setenv("PDE2GNN_DATA", request.getfixturevalue("data_root"))
    monkeypatch.chdir(tmp_path)              # anything a script writes stays in tmp_path
    _load(name).main(["--smoke", "--out", str(tmp_path / "img")])
    if TUTORIALS[name]:
        assert (tmp_path / "img" / TUTORIALS[name]).stat().st_size > 1000


def test_every_example_script_is_a_tested_tutorial():
    # companions of a guide page, tested where they are used: directional_derivatives (the
    # PA-DGN guide), gray_scott (the simulate guide; tests/simulate/test_simulate_fields.py)
    scripts = {p.stem for p in EXAMPLES.glob("*.py")} - {"directional_derivatives", "gray_scott"}
    assert scripts == set(TUTORIALS), "add the new example to TUTORIALS (and to the docs)"
