"""The N-body task (pde2gnn/train/tasks/nbody.py) on a tiny simulation: frames, baseline, training."""
import numpy as np
import pytest
import torch

from pde2gnn.errors import DataError
from pde2gnn.simulate import SimulationConfig, simulate
from pde2gnn.train.tasks import nbody


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = {}
    for spec in ("nbody_charged", "nbody_charged_ref"):
        path = tmp_path_factory.mktemp("nb") / f"{spec}.npz"
        cfg = SimulationConfig(graph="complete", ic="charged", nodes=5, trajectories=20,
                               frames=3, dt=0.05, method="rk4", step_size=0.005, batch=20,
                               split=(0.5, 0.25, 0.25))
        simulate(spec, str(path), cfg, progress=False, log=lambda s: None)
        out[spec] = str(path)
    return out


def test_load_both_velocity_forms_and_linear_baseline(files):
    a = nbody.load_nbody(files["nbody_charged"], 0.05, 0.05)
    b = nbody.load_nbody(files["nbody_charged_ref"], 0.05, 0.05)
    assert a["train"]["p"].shape == (10, 5, 3) and len(a["test"]["p"]) == 5
    for s in a:
        for k in a[s]:
            assert torch.allclose(a[s][k], b[s][k], atol=1e-5)
    lin = nbody.linear_mse(a, 0.05)
    still = float(((a["test"]["p"] - a["test"]["target"]) ** 2).mean())
    assert lin["test"] < 0.01 * still          # constant velocity is nearly right over 0.05
    fit = nbody.fitted_linear_mse(a)           # tau minimises the training MSE of p + v tau
    for tau in (fit["tau"] * 0.99, fit["tau"] * 1.01):
        assert nbody.linear_mse(a, tau)["train"] > fit["train"]
    assert abs(fit["tau"] - 0.05) < 0.01
    with pytest.raises(DataError, match="no frame"):
        nbody.load_nbody(files["nbody_charged"], 0.07, 0.05)


def test_train_egnn_layers(files):
    data = nbody.load_nbody(files["nbody_charged_ref"], 0.0, 0.1)
    cfg = nbody.NBodyConfig(layers=2, hidden=8, epochs=2, batch=5, eval_every=1, lr=1e-3)
    r = nbody.train(data, cfg, log=lambda s: None)
    assert np.isfinite(r["test_mse"]) and r["best_epoch"] in (1, 2) and len(r["history"]) == 2


def test_diverged_or_empty_training_is_named_not_a_key_error(files):
    """A training whose validation MSE is never finite, or a split without systems, says so
    (it ended in KeyError 'test' / ZeroDivisionError)."""
    from pde2gnn.errors import SolverError
    data = nbody.load_nbody(files["nbody_charged_ref"], 0.0, 0.1)
    cfg = nbody.NBodyConfig(layers=1, hidden=4, epochs=1, batch=5, eval_every=1, lr=1e30)
    with pytest.raises(SolverError, match="no finite validation MSE"):
        nbody.train(data, cfg, log=lambda s: None)
    empty = {**data, "val": {k: v[:0] for k, v in data["val"].items()}}
    with pytest.raises(DataError, match="the val split"):
        nbody.train(empty, nbody.NBodyConfig(layers=1, hidden=4, epochs=1), log=lambda s: None)


def test_train_continuous_egnn_flow(files):
    """A continuous spec (egnn_newton) trains through the same loop: rk4 over the horizon."""
    data = nbody.load_nbody(files["nbody_charged_ref"], 0.0, 0.1)
    cfg = nbody.NBodyConfig(spec="library/egnn_newton.pde", layers=2, hidden=8, epochs=2,
                            batch=5, eval_every=1, lr=1e-3, horizon=0.1)
    r = nbody.train(data, cfg, log=lambda s: None)
    assert np.isfinite(r["test_mse"]) and len(r["history"]) == 2
    with pytest.raises(DataError, match="fields p"):
        nbody.EGNNFlow("library/egnn_ode.pde", 2, 8, 5, 0.1)


def test_cli_runs_the_nbody_task_and_writes_its_results(files, tmp_path, capsys):
    """``pde2gnn train egnn_vel --task nbody`` is the registered task: same run as
    :func:`nbody.train`, results JSON with the task's summary."""
    import json

    from pde2gnn.cli.commands import main
    out = tmp_path / "nb.json"
    assert main(["train", "egnn_vel", "--task", "nbody", "--data", files["nbody_charged_ref"],
                 "--start", "0", "--horizon", "0.1", "--layers", "2", "--hidden", "8",
                 "--epochs", "2", "--batch", "5", "--eval-every", "1", "--lr", "1e-3",
                 "--seeds", "2", "--quiet", "--results", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["task"] == "nbody" and res["seeds"] == [0, 1] and len(res["runs"]) == 2
    data = nbody.load_nbody(files["nbody_charged_ref"], 0.0, 0.1)
    direct = nbody.train(data, nbody.NBodyConfig(spec=res["config"]["spec"], layers=2, hidden=8,
                                                 epochs=2, batch=5, eval_every=1, lr=1e-3),
                         log=lambda s: None)
    assert res["runs"][0]["test_mse"] == pytest.approx(direct["test_mse"], rel=1e-6)
    assert "test MSE" in capsys.readouterr().out
    assert main(["train", "egnn_vel", "--task", "nbody", "--data", files["nbody_charged_ref"],
                 "--dropout", "0.5"]) == 2
    assert "--dropout is not an option of the nbody task" in capsys.readouterr().err
