"""``inverted_dropout(x, p)`` (``compiler/backend/pointwise_ops.py``), the kernel of the generated
code's ``_G.dropout`` and of the models' ``Dropout``: each entry kept with probability 1 - p and
scaled by 1 / (1 - p) (Srivastava et al., JMLR 2014), drawn as uniforms on the CPU, without
``torch.nn.functional.dropout`` (whose ``bernoulli_`` is the slow path there)."""
import math

import pytest
import torch

from pde2gnn.compiler.backend import pointwise_ops
from pde2gnn.compiler.backend.graph_ops import GraphOps
from pde2gnn.compiler.backend.pointwise_ops import inverted_dropout
from pde2gnn.models.features import Dropout


def _no_functional_dropout(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the CPU path must not call torch.nn.functional.dropout")
    monkeypatch.setattr(pointwise_ops.torch.nn.functional, "dropout", refuse)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_keep_rate_and_scaling(p, dtype, monkeypatch):
    """On 200,000 entries: the kept ones equal x / (1 - p) exactly (one product by the rounded
    1 / (1 - p)); the dropped fraction is p within 5 binomial standard deviations, the mean of
    the output that of x within 5 of its standard deviations."""
    _no_functional_dropout(monkeypatch)
    torch.manual_seed(0)
    n = 200_000
    x = torch.rand(n, dtype=dtype) + 0.5
    y = inverted_dropout(x, p)
    kept = y != 0
    assert torch.equal(y[kept], x[kept] * torch.tensor(1.0 / (1.0 - p), dtype=dtype))
    dropped = 1.0 - kept.double().mean().item()
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / n)
    ratio = (y / x).double()                             # 0 or 1 / (1 - p): mean 1
    assert abs(ratio.mean().item() - 1.0) < 5 * math.sqrt(p / (1 - p) / n)


def test_graph_ops_and_model_dropout_use_it(monkeypatch):
    """``_G.dropout`` and ``Dropout`` draw the same mask as ``inverted_dropout`` from the same
    seed (training), and are the identity in evaluation mode."""
    _no_functional_dropout(monkeypatch)
    x = torch.randn(50, 8, dtype=torch.float64)
    torch.manual_seed(3)
    want = inverted_dropout(x, 0.3)
    ops = GraphOps(torch.tensor([[0, 1], [1, 0]]), 50).double()
    torch.manual_seed(3)
    assert torch.equal(ops.train().dropout(x, 0.3), want)
    torch.manual_seed(3)
    assert torch.equal(Dropout(0.3).train()(x), want)
    assert ops.eval().dropout(x, 0.3) is x and Dropout(0.3).eval()(x) is x


def test_gradient_is_the_mask():
    """The gradient of sum(w * dropout(x)) is w times the kept entries' scale."""
    x = torch.randn(30, 4, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(1)
    y = inverted_dropout(x, 0.4)
    w = torch.randn(30, 4, dtype=torch.float64)
    g, = torch.autograd.grad((w * y).sum(), x)
    torch.testing.assert_close(g, w * (y / x).detach(), rtol=1e-14, atol=0)
