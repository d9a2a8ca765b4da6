"""Options checked in one place (pde2gnn/options.py), output fit for a log, --version, and the
words of check / explain (issues 34 defects 13, 14, 16-20 and 38 item 4)."""
import argparse
import io
import json
import math
import os
import subprocess
import sys

import pytest
import torch

from pde2gnn import options
from pde2gnn.cli.commands import main
from pde2gnn.cli.parser import build_parser
from pde2gnn.errors import OptionError

from tests.helpers.graphs import random_graph


def one_line_error(args, capsys):
    """Run the command line in-process: exit status 2, one line on stderr, nothing on stdout
    (argparse's own errors leave through SystemExit, as from a shell)."""
    try:
        code = main(args)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and err.strip() and "\n" not in err.strip(), err
    assert out == ""
    return err.strip()


# ------------------------------------------------------------------ the defects of issue 34
@pytest.mark.parametrize("args, message", [
    # 13
    (["simulate", "heat", "--seed", "-1"], "--seed must be in [0, 4294967295], got -1"),
    (["discover", "x.npz", "--seed", "4294967296"], "--seed must be in [0, 4294967295]"),
    # 14
    (["simulate", "heat", "--split", "a,b,c"], "--split needs 3 comma-separated fractions, got "
                                               "'a,b,c'"),
    (["simulate", "heat", "--split", "0.7,0.3"], "--split needs 3 comma-separated fractions"),
    (["simulate", "heat", "--split", "0.7,0.4,-0.1"], "--split must be in [0, 1], got -0.1"),
    (["simulate", "heat", "--split", "0.5,0.6,0.1"], "--split fractions must sum to 1"),
    # 16
    (["train", "heat", "--threads", "-1"], "--threads must be at least 0, got -1"),
    (["simulate", "heat", "--threads", "-2"], "--threads must be at least 0, got -2"),
    # 18
    (["train", "egnn_vel", "--task", "nbody", "--max-train", "0"],
     "--max-train must be at least 1, got 0"),
    # 19
    (["train", "egnn_vel", "--task", "nbody", "--epochs", "0"], "--epochs must be at least 1, "
                                                                "got 0"),
    (["train", "egnn_vel", "--task", "nbody", "--lr", "-1"], "--lr must be above 0, got -1.0"),
    (["train", "egnn_vel", "--task", "nbody", "--weight-decay", "nan"],
     "--weight-decay must be a finite number at least 0, got nan"),
    (["train", "dnnd", "--task", "dynamics", "--epochs", "0"], "--epochs must be at least 1"),
    # 20
    (["train", "heat", "--device", "meta"], "--device meta: pde2gnn runs on cpu or cuda only"),
    (["train", "heat", "--device", "gpu0"], "--device must be one of cpu, cuda, cuda:K, got "
                                            "'gpu0'"),
    # overflowing or non-finite times and params, by the option's name
    (["train", "heat", "--time", "1e39"], "--time must be at most 3.403e+38 in magnitude"),
    (["train", "heat", "--time", "inf"], "--time must be a finite number above 0, got inf"),
    (["train", "heat", "--param", "kappa=1e39"], "param 'kappa' must be at most 3.403e+38"),
    (["simulate", "heat", "--param", "kappa=-inf"], "param 'kappa' must be a finite number"),
    (["simulate", "heat", "--dt", "nan"], "--dt must be a finite number above 0, got nan"),
    (["simulate", "heat", "--horizon", "1e300"], "--horizon must be at most 3.403e+38"),
    (["train", "heat", "--epochs", "2.5"], "--epochs must be an integer at least 1, got '2.5'"),
    (["discover", "x.npz", "--folds", "1"], "--folds must be at least 2, got 1"),
    (["train", "heat", "--dropout", "1"], "--dropout must be in [0, 1), got 1.0"),
    (["train", "heat", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "heat", "--resume"], "--resume needs --results PATH"),
])
def test_bad_options_are_one_line_and_exit_2(args, message, capsys):
    assert message in one_line_error(args, capsys)


def test_cuda_without_a_gpu_is_refused_up_front(capsys):
    if torch.cuda.is_available():
        err = one_line_error(["train", "heat", "--device",
                              f"cuda:{torch.cuda.device_count()}"], capsys)
        assert "CUDA GPU(s) are visible" in err
    else:
        err = one_line_error(["train", "heat", "--device", "cuda"], capsys)
        assert "no CUDA GPU is visible to torch" in err and "--device cpu" in err


@pytest.mark.slow
def test_a_bad_option_from_a_fresh_process_has_no_traceback():
    for args, phrase in ((["simulate", "heat", "--seed", "-1"], "--seed must be in"),
                         (["train", "heat", "--device", "meta"], "--device meta")):
        r = subprocess.run([sys.executable, "-m", "pde2gnn", *args], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert phrase in r.stderr and len(r.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ the rules and their users
def test_rules_bounds_types_and_float32_range():
    assert options.POSITIVE_INT.check("n", 1) == 1
    for bad in (0, True, 1.5, "1"):
        with pytest.raises(OptionError, match="^n must be"):
            options.POSITIVE_INT.check("n", bad)
    assert options.PROBABILITY.check("p", 0) == 0.0
    with pytest.raises(OptionError, match=r"p must be in \[0, 1\), got 1.0"):
        options.PROBABILITY.check("p", 1.0)
    big = options.FLOAT32_MAX
    assert options.FINITE.check("c", -big) == -big
    assert torch.isfinite(torch.tensor(big, dtype=torch.float32))
    with pytest.raises(OptionError, match="overflows float32"):
        options.FINITE.check("c", math.nextafter(big, math.inf) * 1.0000001)
    assert not torch.isfinite(torch.tensor(big * 1.0000001, dtype=torch.float32))
    assert options.SEED.check("seed", 2 ** 32 - 1) == 2 ** 32 - 1
    assert options.fractions("0.7,0.15,0.15", "--split") == (0.7, 0.15, 0.15)


def test_every_numeric_option_of_every_command_has_a_rule():
    """After build_parser no option is parsed by bare int / float, and a new numeric option
    without a rule stops the parser from being built."""
    def actions(p):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub in a.choices.values():
                    yield from actions(sub)
            else:
                yield a
    acts = list(actions(build_parser()))
    assert not [a.dest for a in acts if a.type in (int, float)]
    ruled = [a for a in acts if getattr(a.type, "__name__", "") in ("int", "float")]
    assert {"epochs", "seed", "threads", "max_train", "dt", "folds"} <= {a.dest for a in ruled}
    p = argparse.ArgumentParser()
    p.add_argument("--new-size", type=int)
    with pytest.raises(KeyError, match="--new-size has no rule"):
        options.attach(p)


@pytest.mark.parametrize("make, phrase", [
    (lambda: __import__("pde2gnn.train.tasks.nbody", fromlist=["x"]).NBodyConfig(max_train=0),
     "max_train must be at least 1, got 0"),
    (lambda: __import__("pde2gnn.train.tasks.nbody", fromlist=["x"]).NBodyConfig(epochs=0),
     "epochs must be at least 1"),
    (lambda: __import__("pde2gnn.train.tasks.dynamics", fromlist=["x"]).DynamicsConfig(epochs=0),
     "epochs must be at least 1"),
    (lambda: __import__("pde2gnn.train.tasks.dynamics", fromlist=["x"]).DynamicsConfig(eval_every=0),
     "eval_every must be at least 1"),
    (lambda: __import__("pde2gnn.train.tasks.forecast_config", fromlist=["x"]).ForecastConfig(
        epochs=0).validate(), "epochs must be at least 1"),
    (lambda: __import__("pde2gnn.train.tasks.forecast_config", fromlist=["x"]).ForecastConfig(
        device="meta").validate(), "device meta: pde2gnn runs on cpu or cuda only"),
    (lambda: __import__("pde2gnn.train.config", fromlist=["x"]).make_config(
        {"weight_decay": float("nan")}), "weight_decay must be a finite number at least 0"),
    (lambda: __import__("pde2gnn.train.config", fromlist=["x"]).make_config({"time": 1e39}),
     "time must be at most 3.403e+38"),
    (lambda: __import__("pde2gnn.integrate.solve", fromlist=["x"]).SolverConfig(rtol=-1.0),
     "rtol must be above 0"),
    (lambda: __import__("pde2gnn.simulate", fromlist=["x"]).SimulationConfig(seed=-1),
     "seed must be in [0, 4294967295]"),
    (lambda: __import__("pde2gnn.simulate", fromlist=["x"]).SimulationConfig(
        params={"kappa": math.inf}), "param 'kappa' must be a finite number"),
    (lambda: __import__("pde2gnn.discover", fromlist=["x"]).DiscoveryConfig(folds=1),
     "folds must be at least 2, got 1"),
])
def test_configs_use_the_same_rules(make, phrase):
    """A value from a TOML or from the Python API is refused in the command line's words."""
    with pytest.raises(OptionError) as e:
        make()
    assert phrase in str(e.value)


def test_the_device_rule():
    assert options.check_device("cpu") == "cpu"
    with pytest.raises(OptionError, match="runs on cpu or cuda only"):
        options.check_device("meta")
    from pde2gnn.train.tasks.node_classification import TrainConfig, train
    from torch_geometric.data import Data
    ei, n = random_graph(8, seed=0)
    data = Data(x=torch.randn(n, 3), edge_index=ei, y=torch.arange(n) % 2,
                train_mask=torch.ones(n, dtype=torch.bool), val_mask=torch.ones(n, dtype=torch.bool),
                test_mask=torch.ones(n, dtype=torch.bool))
    with pytest.raises(OptionError, match="runs on cpu or cuda only"):
        train("heat", data, TrainConfig(epochs=1), device="meta", progress=False)


# ------------------------------------------------------------------ 17: energy with per-layer weights
def test_energy_report_follows_the_per_layer_weights(tmp_path):
    """nsd_diag's per-layer Euler layers: the energy trajectory is the model's own forward pass,
    layer by layer (its last state is the ODE block's output at T), and stops at T."""
    from torch_geometric.data import Data

    from pde2gnn.train.diagnostics import dirichlet_energy, energy_report
    from pde2gnn.integrate.solve import EulerLayers, SolverConfig
    from pde2gnn.models.continuous_gnn import ContinuousGNN
    from pde2gnn.train.tasks.node_classification import TrainConfig
    torch.manual_seed(0)
    ei, n = random_graph(12, seed=2)
    data = Data(x=torch.rand(n, 5), edge_index=ei, y=torch.arange(n) % 3)
    cfg = TrainConfig(hidden=4, time=3.0, per_layer_weights=True, normalize_features=True,
                      encoder_act="elu", dims={"d": 2, "k": 4}, self_loops=False,
                      solver=SolverConfig("euler", step_size=1.0))
    model = ContinuousGNN("nsd_diag", data, 3, cfg)
    assert isinstance(model.ode, EulerLayers) and len(model.ode.fields) == 3
    for f in model.ode.fields:          # layers that differ, so the order of fields matters
        for p in f.parameters():
            torch.nn.init.normal_(p, std=0.5)
    rep = energy_report(model, data, str(tmp_path / "e.png"))
    assert rep["times"] == [0.0, 1.0, 2.0, 3.0]
    from torch_geometric.transforms import NormalizeFeatures
    model.eval()
    with torch.no_grad():
        z0 = model.encode(NormalizeFeatures()(Data(x=data.x)).x)
        zT = model.ode(z0)
    graph = model.field.graph
    assert rep["energy"][0] == pytest.approx(dirichlet_energy(z0, graph), rel=1e-6)
    assert rep["energy"][-1] == pytest.approx(dirichlet_energy(zT, graph), rel=1e-5)
    assert rep["energy"][-1] != pytest.approx(rep["energy"][0], rel=1e-3)
    assert (tmp_path / "e.png").stat().st_size > 1000


def test_train_nsd_diag_on_texas_plots_the_energy(tmp_path, capsys):
    from tests.conftest import copy_data
    root = copy_data(tmp_path / "data", "WebKB", "texas")
    png = tmp_path / "e.png"
    assert main(["train", "nsd_diag", "--dataset", "texas", "--plot-energy", str(png),
                 "--epochs", "2", "--data-root", root, "--results",
                 str(tmp_path / "r.json")]) == 0
    res = json.loads((tmp_path / "r.json").read_text())
    assert png.stat().st_size > 1000 and res["runs"][0]["energy"]["times"][-1] == 4.0
    assert "Dirichlet energy" in capsys.readouterr().out


# ------------------------------------------------------------------ output fit for a log
def test_progress_bars_only_on_a_terminal(monkeypatch):
    from pde2gnn.progress import bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert bar(range(3), True).disable
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert not bar(range(3), True, file=sys.stderr).disable
    assert bar(range(3), False).disable


@pytest.mark.slow
def test_train_log_is_lines_and_names_its_results_file(data_root, tmp_path):
    """stdout and stderr to a file: no carriage-return frames, one line every --log-every
    epochs, the results JSON in a run folder that the log names, with its units."""
    runs = tmp_path / "runs"
    env = {**os.environ, "PDE2GNN_RUNS": str(runs), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "pde2gnn", "train", "heat", "--dataset", "Cora",
                        "--data-root", data_root, "--epochs", "5", "--log-every", "2",
                        "--method", "rk4", "--step-size", "0.5"], capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    log = r.stdout + r.stderr
    assert "\r" not in log
    epochs = [int(line.split()[3]) for line in log.splitlines() if line.startswith("  seed ")]
    assert epochs == [0, 2, 4]
    assert "integration T 1.00" in log and "%" in log.split("epoch    0")[1].splitlines()[0]
    named = [line.split()[1] for line in log.splitlines() if line.startswith("results: ")]
    assert len(named) == 1
    path = named[0]
    folder = os.path.dirname(path)
    assert os.path.dirname(folder) == str(runs) and os.path.basename(folder).startswith(
        "heat-Cora-") and os.path.basename(path) == "results.json"
    res = json.loads(open(path).read())
    assert "fraction" in res["fields"]["test_acc"] and "wall-clock" in res["fields"][
        "epoch_time_s"] and "evaluation" in res["fields"]["epoch_time_total_s"]
    assert "not wall time" in res["fields"]["best_time"]
    assert all(k in res["fields"] for k in ("test_acc_mean", "nfe_forward", "runs"))
    assert res["runs"][0]["history"][0]["integration_time"] == 1.0
    assert f"{100 * res['test_acc_mean']:.2f} ± " in log     # percent in the log


def test_run_folders_are_distinct(tmp_path):
    from pde2gnn.train.results import run_folder
    a, b = run_folder("grand", "Cora", str(tmp_path)), run_folder("grand", "Cora", str(tmp_path))
    assert a != b and a.is_dir() and b.is_dir() and a.parent == tmp_path
    assert run_folder("m", "/some/path/to/sim.npz", str(tmp_path)).name.startswith("m-sim.npz-")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OptionError, match="cannot create the run folder"):
        run_folder("m", "d", str(tmp_path / "file"))


def test_plot_titles_say_integration_time(tmp_path):
    from pde2gnn.train.curves import TITLES, plot_training_curves
    hist = [{"epoch": e, "loss": 1.0 / (e + 1), "integration_time": 3.0} for e in range(3)]
    old = [{"epoch": e, "loss": 1.0, "time": 3.0} for e in range(3)]
    for h in (hist, old):
        p = tmp_path / "r.json"
        p.write_text(json.dumps({"runs": [{"seed": 0, "history": h}], "config": {}}))
        assert os.path.getsize(plot_training_curves(str(p))) > 1000
    assert "integration time T" in TITLES["integration_time"] == TITLES["time"]


def test_version_is_the_package_metadata(capsys):
    import pde2gnn
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"pde2gnn {pde2gnn.__version__}"


# ------------------------------------------------------------------ check / explain words
@pytest.mark.parametrize("model", ["grand", "padgn", "nsd_diag", "heat"])
def test_explain_python_explains_its_names(model, capsys):
    assert main(["explain", model, "--stage", "python"]) == 0
    out = capsys.readouterr().out
    header = out.split("\nimport torch")[0]
    for name in sorted(set(__import__("re").findall(r"\b_[A-Z]\b", out))):
        assert f"#   {name}  " in header, name
    if " = stage_sum(" in out:
        assert out.index("# stage_sum(base, weights, ks) =") < out.index(" = stage_sum(")
    assert "integrate with torchdiffeq" not in out


def test_check_says_which_integrator(capsys):
    assert main(["check", "heat"]) == 0
    out = capsys.readouterr().out
    assert "integrate with ODEBlock (pde2gnn's Runge-Kutta loop" in out
    assert "integrate with torchdiffeq" not in out


def _configured(argv):
    from pde2gnn.resources import resolve_spec
    from pde2gnn.train.tasks.registry import select
    args = build_parser().parse_args(argv)
    spec = resolve_spec(args.spec)
    return select(spec, None)(spec, args).configure(None)


def test_step_size_none_unsets_the_toml_value():
    """library/gread.toml sets rk4 with a step_size for Cora; `--method ark3 --step-size none`
    gets adaptive steps (step_size None), without `none` the TOML's step stays, and a number
    still overrides it; `none` is refused where an option may not be unset."""
    import tomllib
    from pde2gnn.resources import library_dir
    toml = tomllib.loads((library_dir() / "gread.toml").read_text())
    want = toml.get("Cora", {}).get("step_size", toml["default"]["step_size"])
    base = ["train", "gread", "--dataset", "Cora", "--method", "ark3"]
    assert _configured(base).solver.step_size == want
    assert _configured(base + ["--step-size", "none"]).solver.step_size is None
    assert _configured(base + ["--step-size", "None"]).solver.step_size is None
    assert _configured(base + ["--step-size", "0.375"]).solver.step_size == 0.375
    with pytest.raises(OptionError, match="--time must be a finite number above 0, got 'none'"):
        build_parser().parse_args(base + ["--time", "none"])
    assert options.unset(options.UNSET) is None and options.unset(0.5) == 0.5


def test_simulate_step_size_none_is_the_default():
    args = build_parser().parse_args(["simulate", "heat", "--step-size", "none"])
    assert options.unset(args.step_size) is None
