"""Data loading: processes started together share one processed/ folder safely."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need_data

LOAD = ("import sys; from pde2gnn.data.datasets import load_planetoid; "
        "d = load_planetoid('Cora', sys.argv[1]); print(d.num_nodes, int(d.train_mask.sum()))")


@pytest.mark.data
@pytest.mark.slow
def test_concurrent_first_loads_all_succeed(tmp_path):
    """Three processes process the same fresh Cora copy at once: each must read a complete
    processed file (without the lock, one could read data.pt while another writes it)."""
    src = need_data("Planetoid", "Cora", "raw")
    root = tmp_path / "data"
    shutil.copytree(src, root / "Planetoid" / "Cora" / "raw")
    env = {**os.environ, "PDE2GNN_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", LOAD, str(root)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert out.split() == ["2708", "140"]
    assert (root / "Planetoid" / "Cora" / "processed" / "data.pt").is_file()


def test_lock_excludes_other_processes(tmp_path, monkeypatch):
    """While one process holds the data lock, another cannot take it."""
    from pde2gnn.data import datasets as data

    monkeypatch.setenv("PDE2GNN_CACHE", str(tmp_path))
    probe = ("import sys, filelock; l = filelock.FileLock(sys.argv[1], timeout=0.2)\n"
             "try:\n    l.acquire()\nexcept filelock.Timeout:\n    sys.exit(3)\n")
    with data._exclusive(tmp_path / "Planetoid"):
        (lock,) = (tmp_path / "locks").glob("*.lock")
        held = subprocess.run([sys.executable, "-c", probe, str(lock)])
    free = subprocess.run([sys.executable, "-c", probe, str(lock)])
    assert (held.returncode, free.returncode) == (3, 0)
