"""Runs spread over processes (torchrun, gloo) give the numbers of one process; merge."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pde2gnn.cli.commands import main
from pde2gnn.train.distributed import rank_path
from pde2gnn.train.results import merge as merge_results
from pde2gnn.errors import OptionError
from pde2gnn.train.tasks.node_classification import summarize

from tests.conftest import copy_data

ROOT = Path(__file__).resolve().parents[2]


def _doc(runs, **over):
    return {"model": "grand", "dataset": "Cora", "split": "public", "config": {"hidden": 8},
            "runs": runs, **over}


def _run(seed, acc):
    return {"split_index": 0, "seed": seed, "test_acc": acc, "val_acc": acc - 0.01,
            "best_epoch": 1, "best_time": 1.0, "epoch_time_s": 0.1, "nfe_forward": 8.0,
            "nfe_backward": 0.0, "peak_memory_mb": 1.0}


def test_merge_recomputes_the_summary_and_refuses_mixed_experiments(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    runs = [_run(0, 0.8), _run(1, 0.7), _run(2, 0.9)]
    a.write_text(json.dumps(_doc(runs[:2])))
    b.write_text(json.dumps(_doc([runs[2], runs[0]])))      # seed 0 twice: kept once
    merged = merge_results([str(a), str(b)])
    assert [r["seed"] for r in merged["runs"]] == [0, 1, 2]
    assert merged["test_acc_mean"] == pytest.approx(summarize(runs)["test_acc_mean"])
    assert merged["test_acc_std"] == pytest.approx(summarize(runs)["test_acc_std"])
    out = tmp_path / "all.json"
    assert main(["merge", str(out), str(a), str(b)]) == 0
    assert json.loads(out.read_text())["seeds"] == [0, 1, 2]
    b.write_text(json.dumps(_doc(runs, config={"hidden": 16})))
    with pytest.raises(OptionError, match="another config"):
        merge_results([str(a), str(b)])
    assert main(["merge", str(out), str(a), str(tmp_path / "missing.json")]) == 2
    assert rank_path("r/x.json", 1) == str(Path("r/x.rank1.json"))


def test_merge_reads_a_key_a_file_lacks_as_the_default(tmp_path):
    """A file written before a config key existed ran with its default: merging it with a file
    that states the default works (the key is filled in), one that differs is refused."""
    from pde2gnn.train.config import TrainConfig
    base = TrainConfig().to_dict()
    older = {k: v for k, v in base.items() if k not in ("encoder_mlp", "decoder_mlp")}
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_doc([_run(0, 0.8)], config=older)))
    b.write_text(json.dumps(_doc([_run(1, 0.7)], config=base)))
    for order in ((a, b), (b, a)):
        merged = merge_results([str(p) for p in order])
        assert merged["config"] == base and len(merged["runs"]) == 2
    b.write_text(json.dumps(_doc([_run(1, 0.7)], config={**base, "decoder_mlp": True})))
    with pytest.raises(OptionError, match="another config"):
        merge_results([str(a), str(b)])


@pytest.mark.data
def test_distributed_outside_torchrun_is_a_clear_error(data_root, tmp_path):
    assert main(["train", "heat", "--dataset", "Cora", "--data-root", data_root,
                 "--distributed", "--epochs", "1", "--quiet"]) == 2


@pytest.mark.data
@pytest.mark.slow
def test_two_gloo_processes_give_the_numbers_of_one(data_root, tmp_path):
    """torchrun with 2 processes (gloo on this CPU) runs seeds 0..3 two by two and joins the
    results: the same per-seed accuracies and summary as one process running all four."""
    common = ["train", "grand", "--dataset", "Cora", "--data-root", data_root, "--seeds", "4",
              "--epochs", "3", "--hidden", "8", "--dim", "k=4", "--quiet", "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    subprocess.run([sys.executable, "-m", "pde2gnn", *common, "--results", str(one)],
                   env=env, check=True, capture_output=True, timeout=600)
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "pde2gnn", *common, "--distributed", "--results", str(two)],
        env=env, capture_output=True, text=True, timeout=600)
    # a rank's own error comes first, torchrun's summary of the failure last
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[:3000] + proc.stderr[-1500:]
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert [r["seed"] for r in b["runs"]] == [0, 1, 2, 3]
    assert [r["test_acc"] for r in b["runs"]] == [r["test_acc"] for r in a["runs"]]
    assert b["test_acc_mean"] == a["test_acc_mean"]
    assert {r["seed"] for r in json.loads(Path(rank_path(str(two), 1)).read_text())["runs"]} \
        == {1, 3}


def test_plot_training_curves_from_results(tmp_path):
    runs = [{**_run(s, 0.8), "history": [{"epoch": e, "loss": 1.0 / (e + 1), "train_acc": 0.5,
                                           "val_acc": 0.4 + 0.01 * e, "nfe": 20} for e in range(5)]}
            for s in range(2)]
    res = tmp_path / "r.json"
    res.write_text(json.dumps(_doc(runs)))
    assert main(["plot", str(res)]) == 0
    png = tmp_path / "r.curves.png"
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    res.write_text(json.dumps(_doc([_run(0, 0.8)])))
    assert main(["plot", str(res)]) == 2                  # no history: one clear message


# ------------------------------------------------------------------ forecasting, data-parallel

def _write_sensor_folder(folder):
    """A small sensor folder: 12 stations, 80 days, 10 % missing (written once, by the test
    process, before the workers start: they only read it)."""
    import numpy as np

    rng = np.random.default_rng(0)
    values = np.cumsum(rng.standard_normal((80, 12)), 0)
    values[rng.random(values.shape) < 0.1] = np.nan
    np.save(Path(folder) / "values.npy", values)
    latlon = np.stack([rng.uniform(30, 45, 12), rng.uniform(-100, -85, 12)], 1)
    (Path(folder) / "stations.csv").write_text(
        "lat,lon\n" + "".join(f"{a},{b}\n" for a, b in latlon))


def _forecast_setup(folder):
    """The sensor folder's data and rgn_standardop stepper; the config of one epoch with
    scheduled sampling decaying fast (coins matter)."""
    from pde2gnn.compiler import pipeline as compiler
    from pde2gnn.data.forecast import load_sensor_folder
    from pde2gnn.train.tasks.forecast_config import ForecastConfig

    data = load_sensor_folder(folder)
    cfg = ForecastConfig(n_in=4, n_out=4, epochs=1, batch_size=5, ss_k=2.0, patience=0,
                         threads=1)

    def model_fn(d):
        return compiler.compile_stepper("rgn_standardop", d.edge_index, d.num_nodes, None, None,
                                        {"pos": d.pos})
    return data, cfg, model_fn


def _ddp_worker(rank, size, init, folder, out):
    import torch
    import torch.distributed as dist

    from pde2gnn.train.tasks.forecasting import train
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=size)
    data, cfg, model_fn = _forecast_setup(folder)
    r = train(model_fn, data, cfg, progress=False, return_model=True)
    if rank == 0:
        torch.save({"state": r.pop("model").state_dict(), "result": r}, out)
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
def test_forecast_ddp_two_gloo_processes_equal_one(tmp_path):
    """DistributedDataParallel over 2 gloo processes, rank r taking rows r, r + 2, ... of
    every global batch of 5 windows (46 windows: unequal shares 3 / 2, and the last batch is
    1 window, so rank 1 runs a weight-0 stand-in), NaNs in the data (unequal valid counts per
    process), scheduled sampling on (the coins of the global batch): after one epoch the
    parameters, loss, validation and test MAE equal those of one process with batch 5, up to
    float summation order."""
    import torch
    import torch.multiprocessing as mp

    from pde2gnn.train.tasks.forecasting import train
    torch.set_num_threads(1)
    _write_sensor_folder(tmp_path)
    data, cfg, model_fn = _forecast_setup(tmp_path)
    one = train(model_fn, data, cfg, progress=False, return_model=True)
    out = tmp_path / "ddp.pt"
    mp.spawn(_ddp_worker, args=(2, f"file://{tmp_path / 'pg'}", str(tmp_path), str(out)),
             nprocs=2, join=True)
    two = torch.load(out, weights_only=False)
    ref = one.pop("model").state_dict()
    assert one["train_windows"] == 46 and ref.keys() == two["state"].keys()
    moved = 0.0
    init = model_fn(data).state_dict()
    for k, v in ref.items():
        assert torch.allclose(two["state"][k], v, rtol=1e-4, atol=1e-6), k
        moved = max(moved, float((v - init[k]).abs().max()))
    assert moved > 1e-3                                    # the epoch did change the weights
    assert two["result"]["history"][0]["loss"] == pytest.approx(one["history"][0]["loss"],
                                                                rel=1e-5)
    assert two["result"]["val_mae"] == pytest.approx(one["val_mae"], rel=1e-5)
    assert two["result"]["mae_per_horizon"] == pytest.approx(one["mae_per_horizon"], rel=1e-5)


def test_merge_is_task_aware_and_reads_older_forecasting_files(tmp_path):
    """Forecasting results (written by --first-seed processes, before files named their task)
    are joined with the forecasting summary recomputed; mixing tasks is refused."""
    from pde2gnn.train.tasks.forecasting import summarize as forecast_summary

    def run(seed, mae):
        return {"seed": seed, "mae_per_horizon": [mae, 2 * mae], "mae_mean": 1.5 * mae,
                "val_mae": mae, "best_epoch": 3, "epochs_run": 5, "time_per_epoch_s": 0.5,
                "num_parameters": 10}
    runs = [run(0, 1.0), run(1, 2.0), run(2, 4.0)]
    paths = []
    for k, r in enumerate(runs):
        paths.append(tmp_path / f"f{k}.json")
        paths[-1].write_text(json.dumps({"model": "var", "dataset": "noaa", "config": {"n_in": 2},
                                         "runs": [r]}))
    merged = merge_results([str(p) for p in paths])
    assert merged["task"] == "forecasting" and merged["seeds"] == [0, 1, 2]
    assert merged["mae_mean"] == pytest.approx(forecast_summary(runs)["mae_mean"])
    assert merged["mae_per_horizon_std"] == pytest.approx(forecast_summary(runs)["mae_per_horizon_std"])
    node = tmp_path / "node.json"
    node.write_text(json.dumps({**_doc([_run(3, 0.8)]), "dataset": "noaa", "model": "var",
                                "config": {"n_in": 2}}))
    with pytest.raises(OptionError, match="another task"):
        merge_results([str(paths[0]), str(node)])


@pytest.mark.data
def test_first_split_spreads_the_splits_of_one_experiment_over_processes(tmp_path):
    """--first-split I --splits N runs splits I..I+N-1; two such files merged are the one run of
    all splits (same per-split accuracies); a range past the data set's splits is refused."""
    data_root = copy_data(tmp_path / "data", "WebKB", "texas")
    common = ["train", "heat", "--dataset", "Texas", "--data-root", data_root, "--epochs", "2", "--hidden", "8", "--quiet", "--threads", "1"]
    one, a, b, out = (tmp_path / f"{n}.json" for n in ("one", "a", "b", "out"))
    assert main([*common, "--splits", "3", "--results", str(one)]) == 0
    assert main([*common, "--splits", "1", "--results", str(a)]) == 0
    assert main([*common, "--first-split", "1", "--splits", "2", "--results", str(b)]) == 0
    assert [r["split_index"] for r in json.loads(b.read_text())["runs"]] == [1, 2]
    assert main(["merge", str(out), str(a), str(b)]) == 0
    joined, whole = json.loads(out.read_text()), json.loads(one.read_text())
    assert [r["test_acc"] for r in joined["runs"]] == [r["test_acc"] for r in whole["runs"]]
    assert joined["test_acc_mean"] == pytest.approx(whole["test_acc_mean"])
    assert main([*common, "--first-split", "9", "--splits", "2"]) == 2
