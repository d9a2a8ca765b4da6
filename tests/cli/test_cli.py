"""The command line: check / explain / train, error reporting and the results JSON."""
import json
import subprocess
import sys

import pytest

from pde2gnn.cli.commands import main
from pde2gnn.resources import library_models


@pytest.mark.parametrize("model", library_models())
def test_check_every_library_model(model, capsys):
    assert main(["check", model]) == 0
    out = capsys.readouterr().out
    assert "well formed" in out and ("dt(" in out or "next(" in out)


@pytest.mark.parametrize("stage", ["ast", "ir", "stencil", "python"])
def test_explain_stages(stage, capsys):
    assert main(["explain", "grand", "--stage", stage, "--dim", "d=8"]) == 0
    out = capsys.readouterr().out
    assert {"ast": "LetDecl", "ir": "dt(x) =", "stencil": "sparse CSR",
            "python": "def step("}[stage] in out


def test_bad_spec_prints_one_message_and_exits_2(tmp_path):
    spec = tmp_path / "bad.pde"
    spec.write_text("model m\nfield x : node[d]\ndt(x) = lapl(x)\n")
    r = subprocess.run([sys.executable, "-m", "pde2gnn", "check", str(spec)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{spec}:3:9: name error: unknown operator 'lapl'" in r.stderr
    assert "did you mean 'lap'?" in r.stderr


def test_unknown_model_and_dataset_are_clear_errors(capsys, tmp_path):
    assert main(["check", "grnd"]) == 2
    assert "did you mean 'grand'" in capsys.readouterr().err
    assert main(["train", "grand", "--dataset", "Coraa", "--data-root", str(tmp_path)]) == 2
    assert "unknown data set 'Coraa'" in capsys.readouterr().err


@pytest.mark.data
def test_train_writes_results_json(tmp_path, data_root, capsys):
    out = tmp_path / "res.json"
    code = main(["train", "heat", "--dataset", "Cora", "--epochs", "3", "--seeds", "2",
                 "--data-root", data_root, "--results", str(out), "--quiet", "--time", "1",
                 "--method", "rk4", "--step-size", "0.5"])
    assert code == 0
    res = json.loads(out.read_text())
    for key in ("test_acc_mean", "test_acc_std", "test_acc", "epoch_time_s", "nfe_forward",
                "nfe_backward", "config", "pde2gnn", "spec_sha256"):
        assert key in res
    assert len(res["test_acc"]) == 2 and all(0 <= a <= 1 for a in res["test_acc"])
    assert res["nfe_forward"] == 8  # rk4: 4 evaluations per step, 2 steps
    assert res["config"]["solver"]["method"] == "rk4"
    assert "test accuracy:" in capsys.readouterr().out


def test_resume_keeps_runs_of_the_same_configuration_only(tmp_path):
    """--resume reads the finished runs of a results JSON written by the same task, model,
    data set and configuration, starts from nothing when the file is absent, and refuses
    anything else."""
    from pde2gnn.errors import OptionError
    from pde2gnn.train.results import resumed_runs
    from pde2gnn.train.tasks.node_classification import TrainConfig

    path = tmp_path / "r.json"
    base = TrainConfig().to_dict()

    def resumed(config=TrainConfig(), dataset="Cora", task="node_classification"):
        return resumed_runs(str(path), task, "grand", dataset, config.to_dict())
    assert resumed() == []
    runs = [{"split_index": 0, "seed": 0, "test_acc": 0.8}]
    path.write_text(json.dumps({"model": "grand", "dataset": "Cora", "runs": runs,
                                "config": base}))      # no "task": an older node-class. file
    assert resumed() == runs
    for wrong in ({"config": TrainConfig(lr=0.5)}, {"dataset": "CiteSeer"},
                  {"task": "forecasting"}):
        with pytest.raises(OptionError, match="another configuration"):
            resumed(**wrong)
    older = {k: v for k, v in base.items() if k != "select_time"}
    path.write_text(json.dumps({"model": "grand", "dataset": "Cora", "runs": runs,
                                "config": older}))   # written before select_time existed
    assert resumed() == runs
    with pytest.raises(OptionError, match="another configuration"):
        resumed(TrainConfig(select_time=3.0))
    path.write_text("not json")
    with pytest.raises(OptionError, match="not a results JSON"):
        resumed()
    with pytest.raises(OptionError, match="needs --results"):
        resumed_runs(None, "node_classification", "grand", "Cora", base)


def test_train_help_says_where_defaults_come_from(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--lr LR default: the spec's TOML, else built-in 0.01" in out
    assert "built-in 'dopri5'" in out
    with pytest.raises(SystemExit):     # a spec (and data set) named: its TOML's values
        main(["train", "nsd_bundle", "--dataset", "Texas", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--lr LR default: 0.02 (nsd_bundle.toml [Texas])" in out
    assert "--time TIME integration time T; default: 4.0 (nsd_bundle.toml [Texas])" in out
    assert "--hidden HIDDEN default: the spec's TOML, else built-in 64" in out
    with pytest.raises(SystemExit):     # --dataset=NAME reads the same section
        main(["train", "nsd_bundle", "--dataset=Wisconsin", "--help"])
    assert "default: 2.0 (nsd_bundle.toml [Wisconsin])" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("extra, phrase", [
    (["--n-in", "3"], "--n-in is not an option of the node_classification task"),
    (["--layers", "2"], "--layers is not an option of the node_classification task"),
    (["--data", "noaa"], "--data is for discrete-time forecasting specs"),
    (["--task", "forecasting", "--posenc", "lap"],
     "--posenc is not an option of the forecasting task"),
])
def test_options_of_another_task_are_refused_not_ignored(extra, phrase, capsys):
    assert main(["train", "heat", *extra]) == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err


def test_every_task_is_registered_with_its_hooks():
    """The table of tasks: each has a name, help, its options and every hook overridden."""
    from pde2gnn.train.tasks.registry import TASKS
    from pde2gnn.train.tasks.task import SHARED, Task
    for name, task in TASKS.items():
        assert task.name == name and task.help and task.shared <= set(SHARED)
        for hook in ("load", "configure", "run", "run_line", "summarize", "report"):
            assert getattr(task, hook) is not getattr(Task, hook), f"{name}.{hook}"


def test_labels_per_class_needs_the_random_split(capsys, tmp_path):
    """--labels-per-class sets the labels of a random split only; elsewhere it is refused
    before any data is read, as is a count below 1."""
    assert main(["train", "grand_pp", "--dataset", "Cora", "--labels-per-class", "5",
                 "--data-root", str(tmp_path)]) == 2
    assert "--labels-per-class sets the training labels of --split random" in \
        capsys.readouterr().err
    assert main(["train", "grand_pp", "--dataset", "Cora", "--split", "random",
                 "--labels-per-class", "0", "--data-root", str(tmp_path)]) == 2
    assert "--labels-per-class must be at least 1" in capsys.readouterr().err


@pytest.mark.data
def test_labels_per_class_trains_on_k_labels_per_class(tmp_path, data_root):
    """GRAND++'s low-label protocol: with --split random --labels-per-class 2, each run
    trains on 2 nodes of each of Cora's 7 classes (the split digest differs per seed)."""
    out = tmp_path / "res.json"
    assert main(["train", "grand_pp", "--dataset", "Cora", "--split", "random",
                 "--labels-per-class", "2", "--epochs", "1", "--seeds", "2", "--quiet",
                 "--method", "euler", "--step-size", "1", "--time", "1",
                 "--data-root", data_root, "--results", str(out)]) == 0
    res = json.loads(out.read_text())
    assert len(res["split_sha256"]) == 2
    from pde2gnn.data.datasets import largest_connected_component, load_dataset, random_split
    data = largest_connected_component(load_dataset("Cora", data_root))
    counts = random_split(data, 1, 2).y[random_split(data, 1, 2).train_mask].bincount()
    assert counts.tolist() == [2] * 7
