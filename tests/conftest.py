import os
import shutil
from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    """A writable copy of the benchmark data (PDE2GNN_DATA, else ../shared/data)."""
    src = Path(os.environ.get("PDE2GNN_DATA", SHARED))
    if not (src / "Planetoid" / "Cora" / "raw").is_dir():
        pytest.fail(f"benchmark data not found at {src}: set PDE2GNN_DATA")
    dst = tmp_path_factory.mktemp("data")
    shutil.copytree(src / "Planetoid" / "Cora", dst / "Planetoid" / "Cora",
                    ignore=shutil.ignore_patterns("processed", "geom-gcn"))
    return str(dst)


@pytest.fixture
def ring():
    """A 6-node ring plus one chord, symmetric, as edge_index [2, E]."""
    pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3)]
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    return torch.tensor([src, dst]), 6
