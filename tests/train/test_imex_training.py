"""Training through an implicit / IMEX solve (issue 35): TrainConfig and the TOML keys accept
the IMEX methods with adjoint = true, and the run log and results report the split counts
(evaluations of N, products with L, linear-solver iterations)."""
import tomllib

import pytest

from pde2gnn.errors import OptionError
from pde2gnn.train.config import make_config
from pde2gnn.train.tasks.node_classification import summarize, train
from tests.helpers.graphs import ring_node_data


@pytest.mark.parametrize("adjoint", [False, True])
def test_imex_adjoint_from_toml_trains_and_logs_split_counts(adjoint):
    values = tomllib.loads(f"""
hidden = 4
epochs = 2
time = 2.0
method = "ark3"
adjoint = {str(adjoint).lower()}
rtol = 1e-4
atol = 1e-6
[params]
kappa = 5.0
""")
    cfg = make_config(values)
    assert cfg.solver.imex and cfg.solver.adjoint == adjoint
    spec = """model gread_lap
field x : node[d]
param kappa = 1.0
learn alpha = 0
learn Beta : [d, d] diag
dt(x) = kappa * sigmoid(alpha) * sum_j(x_j - x_i) + (x * (1 - x)) @ Beta
"""
    lines = []
    r = train(spec, ring_node_data(), cfg, seed=0, progress=False, log=lines.append)
    assert r["nfe_forward"] > 0 and r["nfe_linear"] > 0
    assert (r["nfe_backward"] > 0) == adjoint
    assert all("L products" in line and "solver iterations" in line for line in lines)
    s = summarize([r])
    assert s["nfe_linear"] == r["nfe_linear"] and s["linear_iterations"] is not None


def test_explicit_adjoint_method_with_imex_refused():
    with pytest.raises(OptionError, match="adjoint_method"):
        make_config({"method": "ark4", "adjoint": True, "adjoint_method": "dopri5"})
