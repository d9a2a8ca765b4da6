"""Shared fixtures. Tests that need the benchmark data ask for it through :func:`need_data`
(or the ``data_root`` fixture): without the data they are skipped with one line naming
``PDE2GNN_DATA``; with ``PDE2GNN_REQUIRE_DATA=1`` (set by ``.ci/run``) a missing data set fails
the test instead, so CI cannot pass by skipping.

Markers (``pyproject.toml``): ``data`` (reads the benchmark data), ``slow`` (seconds or more),
``gpu`` (needs CUDA; skipped without it). ``python -m pytest tests/ -m "not slow and not data"``
is the fast set a developer runs while working; ``-n 2`` (pytest-xdist) spreads any
set over two cores. Tests never write into the data folder:
everything torch_geometric processes is a copy under pytest's tmp_path."""
import os
import shutil
from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
#: the benchmark data folder the data tests read (never written to)
DATA = Path(os.environ.get("PDE2GNN_DATA", SHARED))
SKIP_PREFIX = "needs the benchmark data"


def need_data(*parts: str) -> Path:
    """``DATA / parts`` if it is a folder; else skip the calling test (fail it under
    ``PDE2GNN_REQUIRE_DATA=1``) with one line naming the folder and ``PDE2GNN_DATA``."""
    path = DATA.joinpath(*parts)
    if not path.is_dir():
        msg = f"{SKIP_PREFIX}: {path} not found (set PDE2GNN_DATA to the data folder)"
        if os.environ.get("PDE2GNN_REQUIRE_DATA") == "1":
            pytest.fail(msg + "; PDE2GNN_REQUIRE_DATA=1 forbids skipping", pytrace=False)
        pytest.skip(msg)
    return path


def copy_data(dst: Path, *parts: str) -> str:
    """Copy the raw files of data set ``DATA / parts`` under ``dst`` (same relative layout,
    without ``processed/``) and return ``dst`` as a data root for torch_geometric."""
    src = need_data(*parts)
    shutil.copytree(src, dst.joinpath(*parts), ignore=shutil.ignore_patterns("processed"),
                    dirs_exist_ok=True)
    return str(dst)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    """A writable copy of Cora's raw files from ``PDE2GNN_DATA`` (else ../shared/data)."""
    need_data("Planetoid", "Cora", "raw")
    dst = tmp_path_factory.mktemp("data")
    shutil.copytree(DATA / "Planetoid" / "Cora", dst / "Planetoid" / "Cora",
                    ignore=shutil.ignore_patterns("processed", "geom-gcn"))
    return str(dst)


def pytest_collection_modifyitems(config, items):
    """Skip ``@pytest.mark.gpu`` tests, with one line, on a machine without CUDA."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    """``pde2gnn train`` without ``--results`` writes ``$PDE2GNN_RUNS/<run>/results.json``:
    under the tests, a temporary folder, never ./runs of the working tree.

    Under pytest-xdist (``-n K``) each worker runs one thread, as ``OMP_NUM_THREADS`` for the
    processes it starts and as torch's thread count for itself, unless ``OMP_NUM_THREADS`` is
    already set: ``-n 2`` on two cores runs two one-thread workers, not two workers of two
    threads each fighting for the same cores."""
    import tempfile
    os.environ["PDE2GNN_RUNS"] = tempfile.mkdtemp(prefix="pde2gnn-runs-")
    if "PYTEST_XDIST_WORKER" in os.environ and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


def pytest_terminal_summary(terminalreporter):
    """One line saying how many data tests were skipped, and why."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if SKIP_PREFIX in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} data test(s) skipped: no benchmark data at "
                                    f"{DATA} (set PDE2GNN_DATA)")


@pytest.fixture
def ring():
    """A 6-node ring plus one chord, symmetric, as edge_index [2, E]."""
    pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3)]
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    return torch.tensor([src, dst]), 6


@pytest.fixture(scope="module")
def float64():
    """float64 as torch's default dtype for the rest of the module (numerics tests whose
    tolerances are set for double precision); the old default is restored afterwards."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
