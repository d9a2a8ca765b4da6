"""The partitioned solve (issue 40 item 3): METIS parts, halo plans, and two gloo processes that
evaluate, solve and differentiate library specs partitioned and in one process.

Tolerances: the partitioned path computes the same sums in another order (rows of another
rank arrive by message, column sums add partial sums), so fields and solves agree to rounding:
1e-12 relative to the largest entry. Gradients through ``standardize_i`` (graff_dd_bn) cancel:
renumbering the nodes of a one-process solve alone moves its gradient by 2e-12 relative
(measured), so gradients are held to 1e-10.
"""
import json
import sys

import numpy as np
import pytest
import torch

from pde2gnn import compiler
from pde2gnn.errors import OptionError
from pde2gnn.graph import construction
from pde2gnn.graph.partition import halo_plans, metis_parts

pytest.importorskip("pymetis")


def _csr(ei, n):
    i, j = ei[1].numpy(), ei[0].numpy()
    order = np.lexsort((j, i))
    return i[order], j[order]


@pytest.mark.parametrize("parts", [2, 3, 5])
def test_halo_plans_cover_the_graph_once(parts):
    ei, _ = construction.stochastic_block_model(300, 5, 8.0, seed=1)
    i, j = _csr(ei, 300)
    membership = metis_parts(i, j, 300, parts)
    assert sorted(set(membership.tolist())) == list(range(parts))
    plans = halo_plans(i, j, membership)
    owned = np.concatenate([p.nodes[:p.num_owned] for p in plans])
    assert sorted(owned.tolist()) == list(range(300))                     # a partition
    assert sorted(np.concatenate([p.edges for p in plans]).tolist()) == list(range(len(i)))
    for p in plans:
        li, lj = p.edge_index[1], p.edge_index[0]
        assert (li < p.num_owned).all()                                    # edges end at owned
        assert np.array_equal(p.nodes[li], i[p.edges]) and np.array_equal(p.nodes[lj], j[p.edges])
        halo = p.nodes[p.num_owned:]
        assert set(halo.tolist()) == set(j[p.edges].tolist()) - set(p.nodes[:p.num_owned].tolist())
        interior = set(range(p.num_interior))
        assert all(c < p.num_owned for r, c in zip(li, lj) if r in interior)
        for q, count in p.recv.items():                                    # send = recv
            sent = plans[q].nodes[plans[q].send[p.rank]]
            start = p.num_owned + sum(c for r, c in p.recv.items() if r < q)
            assert count == len(sent) and np.array_equal(sent, p.nodes[start:start + count])


def test_partition_options_are_checked():
    with pytest.raises(OptionError, match="--partition"):
        metis_parts(np.array([0]), np.array([1]), 2, 3)


def test_unsupported_kernel_is_named():
    from pde2gnn.graph.partitioned import PartitionedField
    ei, n = construction.stochastic_block_model(40, 2, 4.0, seed=0)[0], 40
    field = compiler.compile("sheaf_heat", ei, n, {})
    with pytest.raises(OptionError, match="sheaf"):
        PartitionedField(field, np.zeros(n, dtype=np.int64), rank=0)


@pytest.mark.slow
def test_two_gloo_processes_equal_one(tmp_path):
    """heat, GRAND-l, BLEND (column-normalised squareplus), GRAND++ (mean_i), GRAFF with
    standardize_i, a weighted heat equation with edge and node inputs on a directed graph,
    Kuramoto-Sivashinsky (lap(lap(u)) and dx, dy on a periodic grid): the field,
    a whole dopri5 / rk4 solve with the same accepted and rejected steps, and the gradients
    (state: gathered; parameters: the sum of the ranks' gradients); then the gradients
    through whole solves (tests/helpers/partition_grad_worker.py)."""
    import torch.multiprocessing as mp
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    from tests.helpers.partition_worker import worker
    out = tmp_path / "out.json"
    mp.spawn(worker, args=(2, str(tmp_path / "store"), str(out)), nprocs=2)
    both = json.loads(out.read_text())
    results = both["fields"]
    assert len(results) == 7
    for name, r in results.items():
        assert r["field"] < 1e-12 and r["solve"] < 1e-12, (name, r)
        assert r["grad"] < 1e-10 and r["param_grad"] < 1e-10, (name, r)
        assert r["steps"][0] == r["steps"][1] and r["rejected"][0] == r["rejected"][1], name
        assert r["nfe"][0] == r["nfe"][1], name
        assert 0 < r["interior"] < r["owned"] and r["halo"] > 0, name
    assert any(r["rejected"][0] > 0 for r in results.values())   # step control was exercised
    # gradients of a loss on y(T): direct backpropagation, per-step checkpointing (recomputed
    # inside each rank, exchanging again) and torchdiffeq's adjoint (norms all-reduced; the
    # one-process reference uses the same seminorm), heat and GRAND-l
    grads = both["gradients"]
    assert len(grads) == 6 and grads["grand adjoint"]["params"] > 0
    for name, r in grads.items():
        assert r["solve"] < 1e-12 and r["grad"] < 1e-10 and r["param_grad"] < 1e-10, (name, r)


def _cli(args, torchrun=None):
    import os
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS="1")
    pre = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={torchrun}"] if torchrun else [sys.executable]
    return subprocess.run(pre + ["-m", "pde2gnn", "simulate"] + args, cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_simulate_partition_needs_torchrun(tmp_path):
    p = _cli(["allen_cahn", "--partition", "2", "--out", str(tmp_path / "a.npz")])
    assert p.returncode == 2 and "torchrun" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.slow
def test_simulate_under_torchrun_equals_one_process(tmp_path):
    """`torchrun --nproc-per-node 2 -m pde2gnn simulate ... --size 24 --partition 2` (the real
    command line: ``--size``, not ``--n``, which torchrun refuses as ambiguous): rank 0 writes
    the gathered frames, equal to a one-process run's to rounding."""
    common = ["allen_cahn", "--graph", "grid", "--size", "24", "--trajectories", "3", "--frames", "4",
              "--dt", "0.05", "--dtype", "float64", "--sample", "0", "--no-png", "--quiet"]
    assert _cli(common + ["--out", str(tmp_path / "one.npz")]).returncode == 0
    p = _cli(common + ["--partition", "2", "--out", str(tmp_path / "part.npz")], torchrun=2)
    assert p.returncode == 0, p.stderr[:3000] + p.stderr[-1500:]   # head: a rank's own error
    one, part = np.load(tmp_path / "one.npz"), np.load(tmp_path / "part.npz")
    want = one["frames"]
    assert part["frames"].shape == want.shape
    assert np.abs(part["frames"] - want).max() <= 1e-12 * np.abs(want).max()


@pytest.mark.parametrize("option, value, named", [
    ("method", "ark3", "method 'ark3'"), ("method", "ros34pw2", "method 'ros34pw2'"),
    ("compile", True, "compile"), ("auto_memory", True, "auto_memory"),
    ("integrator", "torchdiffeq", "integrator 'torchdiffeq'")])
def test_partition_refusals_name_the_option(option, value, named):
    from pde2gnn.graph.partitioned import check_partitioned
    from pde2gnn.integrate.solver_config import SolverConfig
    with pytest.raises(OptionError, match=named) as e:
        check_partitioned(SolverConfig(**{option: value}))
    assert "--partition" in str(e.value)
    check_partitioned(SolverConfig(method="rk4", step_size=0.1, checkpoint=True))
    check_partitioned(SolverConfig(adjoint=True, integrator="torchdiffeq"))


@pytest.mark.slow
@pytest.mark.data
def test_partitioned_training_equals_one_process(tmp_path, data_root):
    """Node classification on Cora, float64, GRAND-l (dopri5) and heat (rk4, per-step
    checkpointing): 3 epochs on 2 gloo ranks with the graph partitioned give the losses,
    accuracies, NFE and selected epoch of one process (the sums of 2708 nodes in another
    order: 1e-10 relative)."""
    import torch.multiprocessing as mp
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    from tests.helpers.partition_train_worker import worker
    out = tmp_path / "out.json"
    mp.spawn(worker, args=(2, str(tmp_path / "store"), data_root, str(out)), nprocs=2)
    results = json.loads(out.read_text())
    assert sorted(results) == ["grand", "heat"]
    for spec, r in results.items():
        part, one = r["partitioned"], r["one"]
        assert len(part["history"]) == len(one["history"]) == 3
        for a, b in zip(part["history"], one["history"]):
            for key in ("loss", "train_acc", "val_acc", "val_loss"):
                assert abs(a[key] - b[key]) <= 1e-10 * max(abs(b[key]), 1e-3), (spec, key, a, b)
            assert a["nfe"] == b["nfe"], spec
        assert part["test_acc"] == one["test_acc"] and part["best_epoch"] == one["best_epoch"]
        assert part["split_sha256"] == one["split_sha256"]
    assert results["grand"]["one"]["history"][-1]["loss"] < results["grand"]["one"]["history"][0]["loss"]


def _train_cli(args, root, torchrun=None):
    import os
    import subprocess
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(repo), OMP_NUM_THREADS="1", PDE2GNN_DATA=root)
    pre = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={torchrun}"] if torchrun else [sys.executable]
    return subprocess.run(pre + ["-m", "pde2gnn", "train"] + args, cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_train_partition_needs_torchrun(tmp_path):
    p = _train_cli(["grand", "--dataset", "Cora", "--partition", "2", "--results",
                    str(tmp_path / "r.json")], str(tmp_path))
    assert p.returncode == 2 and "torchrun" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    from pde2gnn.cli.commands import main
    assert main(["train", "grand", "--partition", "2", "--distributed", "--results",
                 str(tmp_path / "r.json")]) == 2


@pytest.mark.slow
@pytest.mark.data
def test_train_under_torchrun(tmp_path, data_root):
    """`torchrun --nproc-per-node 2 -m pde2gnn train grand --dataset Cora --partition 2` (the
    documented command line): rank 0 alone prints the report and writes the results file,
    which records the partition (the equality with one process is the float64 test above)."""
    p = _train_cli(["grand", "--dataset", "Cora", "--epochs", "2", "--hidden", "16", "--quiet",
                    "--log-every", "1", "--partition", "2", "--results",
                    str(tmp_path / "part.json")], data_root, torchrun=2)
    assert p.returncode == 0, p.stderr[:3000] + p.stderr[-1500:]   # head: a rank's own error
    assert p.stdout.count("test accuracy:") == 1                   # rank 0 reports alone
    part = json.loads((tmp_path / "part.json").read_text())
    assert part["partition"] == 2 and len(part["runs"][0]["history"]) == 2
    assert 0 < part["runs"][0]["test_acc"] <= 1


def test_node_shard_refuses_what_needs_the_whole_graph():
    """Per-layer weights and positional encodings are refused before any process group is
    needed, naming the option."""
    from torch_geometric.data import Data
    from pde2gnn.models.continuous_gnn import ContinuousGNN
    from pde2gnn.train.config import make_config
    from pde2gnn.train.partitioned import NodeShard
    ei = construction.stochastic_block_model(40, 2, 4.0, seed=0)[0]
    data = Data(x=torch.randn(40, 5), edge_index=ei, y=torch.zeros(40, dtype=torch.long))
    cfg = make_config({"hidden": 4, "per_layer_weights": True, "method": "euler",
                       "step_size": 0.5})
    with pytest.raises(OptionError, match="per_layer_weights"):
        NodeShard(ContinuousGNN("heat", data, 2, cfg), 2)
    cfg = make_config({"hidden": 4, "dims": {"p": 2, "k": 2, "h": 1}})
    model = ContinuousGNN("beltrami", data, 2, cfg, pos=torch.randn(40, 3))
    with pytest.raises(OptionError, match="positional"):
        NodeShard(model, 2)
