"""Differential test: every library spec's compiled field equals the unfused reference
interpreter of its stencil program (:mod:`pde2gnn.compiler.backend.reference`) on a small random graph,
in float64, with random learnables and inputs: a check of the fusion (sparse CSR products,
folded diagonals, hoisting to prepare / static, shared subexpressions, gathers lifted to nodes,
block-wise edge MLPs) against plain gather / scatter evaluation."""
from pathlib import Path

import pytest
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.backend.reference import interpret
from pde2gnn.graph.construction import delaunay_graph

from tests.helpers.fuzzing import assert_close_norm, jittered_grid
from tests.helpers.specs import ALL_SPECS

LIBRARY = ALL_SPECS      # library/*.pde and experiments/*/specs/*.pde
N = 12


def random_graph(gen, one_way=True):
    """A random graph on N nodes with unequal degrees and no isolated node: a symmetric part
    and (``one_way``; energies and sheaves need a symmetric graph without repeated edges)
    one-way edges, one of them repeated."""
    pairs = {tuple(sorted((k, (k + 1) % N))) for k in range(N)}
    while len(pairs) < 2 * N:
        a, b = torch.randint(N, (2,), generator=gen).tolist()
        if a != b:
            pairs.add((min(a, b), max(a, b)))
    sym = [(a, b) for a, b in sorted(pairs)] + [(b, a) for a, b in sorted(pairs)]
    src, dst = zip(*(sym + ([(0, 5), (3, 9), (0, 5)] if one_way else [])))
    return torch.tensor([src, dst])


def compiled_field(path: Path, gen):
    torch.manual_seed(0)
    checked = compiler.front(str(path))
    dims = {k: 4 for k, v in checked.dims.items() if v is None}
    ei = random_graph(gen, one_way=not (checked.energies or checked.sheaves))
    inputs = {}
    for name, t in checked.inputs.items():
        if checked.domain is not None and (name == checked.domain.name
                                           or name in checked.coordinates):
            continue
        c = t.channels if isinstance(t.channels, int) else dims.get(t.channels, 4)
        rows = ei.shape[1] if t.kind == "edge" else N
        inputs[name] = torch.randn(rows, int(c), generator=gen, dtype=torch.float64)
    if checked.domain is not None:
        # a jittered grid inside every library domain: a well-conditioned mesh
        inputs[checked.domain.name] = jittered_grid(N, len(checked.domain.bounds), seed=3)
        ei = delaunay_graph(inputs[checked.domain.name].numpy())
    if checked.discrete:
        field = compiler.compile_stepper(str(path), ei, N, dims, None, inputs).double().update
    else:
        field = compiler.compile(str(path), ei, N, dims, None, inputs).double()
    with torch.no_grad():   # learnables away from their (often zero) initial values
        for p in field.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return field


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_compiled_field_equals_reference_interpreter(path):
    gen = torch.Generator().manual_seed(3)
    field = compiled_field(path, gen)
    shapes = [[N, field.state_width], [2, N, field.state_width]]
    if field.program.ir.checked.sheaves:     # learned sheaves: one state at a time
        shapes = shapes[:1]
    for shape in shapes:
        y0 = torch.randn(*shape, generator=gen, dtype=torch.float64)
        y = y0 + 0.1 * torch.randn(*shape, generator=gen, dtype=torch.float64)
        t = torch.tensor(0.3, dtype=torch.float64)
        field.prepare(y0)
        got = field(t, y)
        got = got[0] if isinstance(got, tuple) else got
        want = interpret(field, t, y, y0)
        # float64 rounding of sums of O(degree) products, relative to the answer's size
        assert_close_norm(got, want, rtol=1e-11)
