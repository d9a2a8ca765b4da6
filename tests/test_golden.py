"""Every library spec compiles to the same code and the same numbers as the recorded goldens
(``tests/golden/``): a guard for changes to the discretiser and code generator.

``<name>.py.txt`` is ``explain(spec, 'python')`` (free dimensions 4); ``<name>.pt`` is the
compiled vector field (or one step of a discrete-time model) in float64, evaluated on a fixed
random state on :func:`fuzzing.small_graph`, with learnables seeded. Re-record (only when a
change of the generated code is intended) with ``python tests/test_golden.py --record``.
"""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzzing import N_NODES, small_graph  # noqa: E402
from specs import ALL_SPECS  # noqa: E402

from pde2gnn import compiler  # noqa: E402
from pde2gnn.graphs import delaunay_graph  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden"
LIBRARY = ALL_SPECS      # library/*.pde and experiments/*/specs/*.pde
DIMS = 4


def field_output(path: Path) -> torch.Tensor:
    """The float64 value of the compiled spec at a fixed random state, ``[N, C]`` (ODE) or
    ``[2, N, C]`` (discrete-time: the next frame)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        checked = compiler.front(str(path))
        dims = {k: DIMS for k, v in checked.dims.items() if v is None}
        ei, pos = small_graph()
        gen = torch.Generator().manual_seed(1)
        inputs = {}
        for name, t in checked.inputs.items():
            if checked.domain is not None and (name == checked.domain.name
                                               or name in checked.coordinates):
                continue
            c = t.channels if isinstance(t.channels, int) else dims.get(t.channels, DIMS)
            inputs[name] = torch.randn(N_NODES, int(c), generator=gen)
        if checked.domain is not None:   # a triangulation, which every stencil scheme accepts
            inputs[checked.domain.name] = pos[:, :len(checked.domain.bounds)].double()
            ei = delaunay_graph(inputs[checked.domain.name].numpy())
        if checked.discrete:
            st = compiler.compile_stepper(str(path), ei, N_NODES, dims, None, inputs).double()
            f = torch.randn(2, N_NODES, st.channels, generator=gen)
            out, _ = st(f, tuple(h.double() for h in st.init_hidden(2)))
            return out.detach()
        vf = compiler.compile(str(path), ei, N_NODES, dims, None, inputs).double()
        y0 = torch.randn(N_NODES, vf.state_width, generator=gen)
        vf.prepare(y0)
        return vf(torch.tensor(0.0), y0).detach()
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_library_code_and_values_match_golden(path):
    source = compiler.explain(str(path), "python")
    value = field_output(path)
    want_value = torch.load(GOLDEN / f"{path.stem}.pt", weights_only=True)
    torch.testing.assert_close(value, want_value, rtol=1e-12, atol=1e-12)
    assert source == (GOLDEN / f"{path.stem}.py.txt").read_text(), \
        f"generated code of {path.stem} changed (values still match to 1e-12)"


if __name__ == "__main__" and "--record" in sys.argv:
    GOLDEN.mkdir(exist_ok=True)
    for p in LIBRARY:
        (GOLDEN / f"{p.stem}.py.txt").write_text(compiler.explain(str(p), "python"))
        torch.save(field_output(p), GOLDEN / f"{p.stem}.pt")
        print("recorded", p.stem)
