"""A pytest fixture that runs a module's tests with float64 as torch's default dtype (the
numerics tests' precision); import it into a test module as ``_float64`` to apply it."""
import pytest
import torch


@pytest.fixture(autouse=True)
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
