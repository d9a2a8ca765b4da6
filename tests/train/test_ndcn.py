"""NDCN's dynamics (Zang & Wang, KDD 2020): the library specs against plain numpy right-hand
sides, `simulate` against scipy's solve_ivp, the graph families and the sampling protocol."""
import numpy as np
import pytest
import scipy.integrate
import torch

from pde2gnn.compiler import pipeline as compiler
from pde2gnn.compiler.check import check
from pde2gnn.errors import FormError, OptionError
from pde2gnn.graph.construction import NDCN_GRAPHS, ndcn_graph
from pde2gnn.compiler.lang import parse
from pde2gnn.simulate import SimulationConfig, ndcn_sampling, simulate

from tests.helpers.graphs import random_graph


def adjacency(edge_index, n):
    a = np.zeros((n, n))
    a[edge_index[1].numpy(), edge_index[0].numpy()] = 1.0
    return a


def heat_rhs(a, x, k=1.0):
    return -k * (np.diag(a.sum(1)) - a) @ x


def mutualistic_rhs(a, x, b=0.1, k=5.0, c=1.0, d=5.0, e=0.9, h=0.1):
    inter = (x[:, None] * x[None, :]) / (d + e * x[:, None] + h * x[None, :])
    return b + x * (1 - x / k) * (x / c - 1) + (a * inter).sum(1)


def gene_rhs(a, x, b=1.0, f=1.0, h=2.0):
    return -b * x ** f + a @ (x ** h / (x ** h + 1))


RHS = {"ndcn_heat": heat_rhs, "ndcn_mutualistic": mutualistic_rhs, "ndcn_gene": gene_rhs}


@pytest.mark.parametrize("spec", sorted(RHS))
def test_dynamics_spec_equals_numpy(spec):
    ei, n = random_graph(15, seed=4)
    a = adjacency(ei, n)
    x = np.random.default_rng(0).uniform(0, 10, n)      # the dynamics live on x >= 0
    field = compiler.compile(spec, ei, n).double()
    y = torch.tensor(x[:, None])
    field.prepare(y)
    out = field(torch.tensor(0.0, dtype=torch.float64), y).detach().numpy()[:, 0]
    ref = RHS[spec](a, x)
    assert np.abs(out - ref).max() <= 1e-10 * max(1.0, np.abs(ref).max())


@pytest.mark.parametrize("spec", sorted(RHS))
def test_simulate_agrees_with_solve_ivp(spec, tmp_path):
    cfg = SimulationConfig(graph="random", nodes=16, ic="ndcn", protocol="regular",
                           trajectories=1, dtype="float64", rtol=1e-10, atol=1e-10, horizon=2.0)
    simulate(spec, str(tmp_path / "s.npz"), cfg, progress=False, log=lambda s: None)
    d = np.load(tmp_path / "s.npz")
    a = adjacency(torch.as_tensor(d["edge_index"]), 16)
    x0 = d["frames"][0, 0]
    assert sorted(np.unique(x0)) == [0, 17, 20, 25]
    sol = scipy.integrate.solve_ivp(lambda t, x: RHS[spec](a, x), (0, 2.0), x0, method="DOP853",
                                    t_eval=d["times"], rtol=1e-11, atol=1e-11)
    assert np.abs(sol.y.T - d["frames"][0]).max() < 1e-6 * np.abs(sol.y).max()
    # the long-horizon truth continues the same solution, and its end is a fixed point
    assert d["long_times"][0] > 2.0 and np.isclose(d["long_times"][-1], 8.0)
    assert np.isclose(d["long_times"], 4.0).any()
    assert d["fixed_point_residual"][0] < 1e-3


def test_graph_families_are_seeded_and_sized():
    for name in NDCN_GRAPHS:
        a, b = ndcn_graph(name, seed=1), ndcn_graph(name, seed=1)
        assert torch.equal(a, b) and int(a.max()) == 399
        assert (a[0] != a[1]).all()                                  # no self-loops
        assert torch.equal(torch.sort(a[0] * 400 + a[1]).values,     # symmetric
                           torch.sort(a[1] * 400 + a[0]).values)
    deg = torch.bincount(ndcn_graph("grid8")[1])
    assert deg.max() == 8 and deg.min() == 3 and int((deg == 8).sum()) == 18 * 18
    assert not torch.equal(ndcn_graph("random", seed=0), ndcn_graph("random", seed=1))
    with pytest.raises(OptionError, match="square"):
        ndcn_graph("grid8", n=50)
    with pytest.raises(OptionError, match="unknown NDCN graph"):
        ndcn_graph("lattice")


@pytest.mark.parametrize("protocol", ["irregular", "regular"])
def test_sampling_protocol_disjoint_and_reproducible(protocol):
    s = ndcn_sampling(protocol, seed=3)
    tr, it, ex, obs = (s[k] for k in ("train_index", "interp_index", "extrap_index",
                                      "observed_index"))
    frames = int(s["frames"])
    assert (len(tr), len(it), len(ex)) == ((80, 20, 20) if protocol == "irregular" else (80, 0, 20))
    assert len(obs) == (120 if protocol == "irregular" else 100) and obs[0] == 0
    assert np.all(np.diff(obs) > 0) and obs[-1] < frames
    allidx = np.concatenate([tr, it, ex])
    assert len(np.unique(allidx)) == len(allidx) and np.array_equal(np.sort(allidx), obs)
    assert tr[0] == 0 and (len(it) == 0 or it.min() > 0)
    assert ex.min() > max(tr.max(), it.max() if len(it) else 0)   # extrapolation is last
    again = ndcn_sampling(protocol, seed=3)
    assert all(np.array_equal(s[k], again[k]) for k in s)
    if protocol == "irregular":
        other = ndcn_sampling(protocol, seed=4)
        assert not np.array_equal(s["observed_index"], other["observed_index"])
    with pytest.raises(OptionError, match="unknown sampling protocol"):
        ndcn_sampling("weekly", 0)


def test_non_integer_power_needs_a_non_negative_base():
    head = "model m\nfield x : node\n"
    with pytest.raises(FormError, match="non-integer power") as info:
        check(parse(head + "dt(x) = -x^1.5\n", "m.pde"))
    assert info.value.span.line == 3 and "relu(x)^p" in info.value.hint
    with pytest.raises(FormError, match="non-integer power"):
        check(parse(head + "param f = 0.5\ndt(x) = sum_j(x_j^f)\n", "m.pde"))
    for ok in ("dt(x) = -relu(x)^1.5", "param f = 2\ndt(x) = -x^f",
               "let y = abs(x)\ndt(x) = -y^0.5", "dt(x) = -(exp(x) + 1)^0.5"):
        check(parse(head + ok + "\n", "m.pde"))


def test_short_fit_lowers_interpolation_error(tmp_path):
    from pde2gnn.cli.commands import main
    from pde2gnn.models.dynamics import DynamicsModel
    from pde2gnn.train.tasks.dynamics import DynamicsConfig, load_dynamics, normalized_l1, train
    from pde2gnn.integrate.solve import SolverConfig

    sim = tmp_path / "heat.npz"
    assert main(["simulate", "ndcn_heat", "--graph", "grid8", "--nodes", "36", "--ic", "ndcn",
                 "--protocol", "irregular", "--trajectories", "1", "--dtype", "float64",
                 "--out", str(sim), "--no-png", "--quiet"]) == 0
    data = load_dynamics(str(sim))
    assert data.frames.shape == (1000, 36) and len(data.interp) == 20
    assert normalized_l1([2.0, 0.0], [1.0, 1.0]) == 1.0
    ei = torch.as_tensor(data.edge_index)

    def model_fn():
        field = compiler.compile("ndcn", ei, 36, {"d": 8})
        return DynamicsModel(field, True, True, SolverConfig("dopri5", 1e-2, 1e-3))
    r = train(model_fn, data, DynamicsConfig(hidden=8, epochs=30, eval_every=30, lr=0.02),
              progress=False, log=lambda s: None, plot=str(tmp_path / "fit.png"))
    first, last = r["history"][0], r["history"][-1]
    assert last["interp"] < 0.7 * first["interp"] and last["train"] < first["train"]
    assert set(r["long"]) >= {"blow_up"} and (tmp_path / "fit.png").stat().st_size > 0
    # the CLI runs the same task and writes its JSON
    out = tmp_path / "r.json"
    assert main(["train", "dnnd", "--data", str(sim), "--task", "dynamics", "--epochs", "3",
                 "--quiet", "--log-every", "0", "--results", str(out)]) == 0
    import json
    res = json.loads(out.read_text())
    assert res["dataset"] == "ndcn_heat" and res["task"] == "dynamics" and np.isfinite(res["interp"])


def test_dynamics_task_refuses_a_file_without_protocol(tmp_path):
    from pde2gnn.errors import DataError
    from pde2gnn.train.tasks.dynamics import DynamicsConfig, load_dynamics
    np.savez(tmp_path / "plain.npz", frames=np.zeros((1, 3, 4)), times=np.arange(3.0))
    with pytest.raises(DataError, match="--protocol"):
        load_dynamics(str(tmp_path / "plain.npz"))
    with pytest.raises(OptionError, match="unknown dynamics hyperparameter"):
        DynamicsConfig.from_dict({"epochz": 3})
