"""On a machine with CUDA: every library spec's compiled field gives on the GPU what it gives on
the CPU (float64, relative to the norm of the answer). Skipped, with one line, without CUDA;
the CPU suite never depends on it."""
import copy

import pytest
import torch

from tests.helpers.fuzzing import assert_close_norm
from tests.compiler.test_reference import LIBRARY, N, compiled_field


@pytest.mark.gpu
@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_field_on_cuda_equals_cpu(path):
    gen = torch.Generator().manual_seed(3)
    cpu = compiled_field(path, gen)
    y0 = torch.randn(N, cpu.state_width, generator=gen, dtype=torch.float64)
    y = y0 + 0.1 * torch.randn(N, cpu.state_width, generator=gen, dtype=torch.float64)
    t = torch.tensor(0.3, dtype=torch.float64)
    gpu = copy.deepcopy(cpu).to("cuda")
    cpu.prepare(y0)
    gpu.prepare(y0.cuda())
    want, got = cpu(t, y), gpu(t.cuda(), y.cuda())
    want = want[0] if isinstance(want, tuple) else want
    got = got[0] if isinstance(got, tuple) else got
    assert_close_norm(got.cpu(), want, rtol=1e-11)
