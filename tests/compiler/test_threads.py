"""Threads chosen by problem size (pde2gnn/threads.py): one thread below SMALL_WORK in the
command line's automatic mode, --threads wins, library use is left alone."""
import pytest
import torch

from pde2gnn import threads
from pde2gnn.compiler.pipeline import compile
from pde2gnn.errors import OptionError

from tests.helpers.graphs import random_graph


@pytest.fixture
def restore():
    before, mode = torch.get_num_threads(), threads._mode
    yield
    torch.set_num_threads(before)
    threads._mode, threads._chosen = mode, None


def test_rule():
    assert threads.choose(threads.SMALL_WORK - 1) == 1
    assert threads.choose(threads.SMALL_WORK) == threads._default


def test_auto_mode_runs_a_small_solve_on_one_thread_and_logs_once(restore, monkeypatch):
    monkeypatch.setattr(threads, "_default", 2)     # as on a 2-core machine
    lines = []
    threads.request(0, log=lines.append)
    torch.set_num_threads(2)
    ei, n = random_graph(12)
    f = compile("heat", ei, n, {"d": 3}).double()
    for _ in range(2):
        threads.fit(f.graph.num_edges, n, 3, log=lines.append)
    assert torch.get_num_threads() == 1
    assert len(lines) == 1 and lines[0].startswith("threads: 1 ")
    threads.fit(threads.SMALL_WORK, 0, 1, log=lines.append)       # a large one: the default
    assert torch.get_num_threads() == 2 and len(lines) == 2


def test_explicit_threads_win_and_library_use_is_untouched(restore):
    threads.request(2, log=lambda s: None)
    threads.fit(10, 10, 1, log=lambda s: None)
    assert torch.get_num_threads() == 2
    threads._mode = None                       # not started from the command line
    torch.set_num_threads(2)
    ei, n = random_graph(12)
    f = compile("heat", ei, n, {"d": 3}).double()
    f.prepare(torch.zeros(n, 3, dtype=torch.float64))
    assert torch.get_num_threads() == 2
    with pytest.raises(OptionError, match="--threads"):
        threads.request(-1)
