"""The command line: check / explain / train, error reporting and the results JSON."""
import json
import subprocess
import sys

import pytest

from pde2gnn.cli import main
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
    """--resume reads the finished runs of a results JSON written with the same data set and
    configuration, starts from nothing when the file is absent, and refuses anything else."""
    from types import SimpleNamespace

    from pde2gnn.cli import _resumed_runs
    from pde2gnn.errors import OptionError
    from pde2gnn.tasks.node_classification import TrainConfig

    path = tmp_path / "r.json"
    args = SimpleNamespace(results=str(path), dataset="Cora")
    assert _resumed_runs(args, TrainConfig()) == []
    runs = [{"split_index": 0, "seed": 0, "test_acc": 0.8}]
    path.write_text(json.dumps({"model": "grand", "dataset": "Cora", "runs": runs,
                                "config": TrainConfig().to_dict()}))
    assert _resumed_runs(args, TrainConfig()) == runs
    with pytest.raises(OptionError, match="another configuration"):
        _resumed_runs(args, TrainConfig(lr=0.5))
    with pytest.raises(OptionError, match="another configuration"):
        _resumed_runs(SimpleNamespace(results=str(path), dataset="CiteSeer"), TrainConfig())
    older = {k: v for k, v in TrainConfig().to_dict().items() if k != "select_time"}
    path.write_text(json.dumps({"model": "grand", "dataset": "Cora", "runs": runs,
                                "config": older}))   # written before select_time existed
    assert _resumed_runs(args, TrainConfig()) == runs
    with pytest.raises(OptionError, match="another configuration"):
        _resumed_runs(args, TrainConfig(select_time=3.0))
    path.write_text("not json")
    with pytest.raises(OptionError, match="not a results JSON"):
        _resumed_runs(args, TrainConfig())


def test_train_help_says_where_defaults_come_from(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--lr LR default: the spec's TOML, else built-in 0.01" in out
    assert "built-in 'dopri5'" in out
