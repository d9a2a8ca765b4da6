"""Every library spec compiles to the same code as the recorded goldens (``tests/golden/``): a
guard for changes to the discretiser and the code generator.

``<name>.py.txt`` is ``explain(spec, 'python')`` with free dimensions 4. Goldens compare
generated code only, never float digits: the numbers a generated field computes are checked
elsewhere, against the unfused reference interpreter (``tests/compiler/test_reference.py``), analytic
solutions and hand-written PyTorch versions of the same equations, at tolerances set by the
conditioning. Re-record (only when a change of the generated code is intended) with
``python tests/test_golden.py --record``.
"""
import sys
from pathlib import Path

import pytest

from pde2gnn.compiler import pipeline as compiler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers.specs import ALL_SPECS  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden"
LIBRARY = ALL_SPECS      # library/*.pde and experiments/*/specs/*.pde


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_library_code_matches_golden(path):
    want = GOLDEN / f"{path.stem}.py.txt"
    assert want.exists(), f"no golden for {path.stem}: run python tests/test_golden.py --record"
    assert compiler.explain(str(path), "python") == want.read_text(), \
        f"generated code of {path.stem} changed (re-record only if intended)"


def test_every_golden_has_its_library_spec():
    """A golden left behind by a removed or renamed spec is an error, not dead weight."""
    stems = {p.stem for p in LIBRARY}
    orphans = sorted(g.name for g in GOLDEN.glob("*.py.txt") if g.name[:-len(".py.txt")] not in stems)
    assert not orphans, f"goldens without a library spec: {orphans}"


if __name__ == "__main__" and "--record" in sys.argv:
    GOLDEN.mkdir(exist_ok=True)
    for p in LIBRARY:
        (GOLDEN / f"{p.stem}.py.txt").write_text(compiler.explain(str(p), "python"))
        print("recorded", p.stem)
