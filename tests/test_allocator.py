"""--allocator (pde2gnn/allocator.py): the environment the command re-executes with, the clear
errors, and (where libjemalloc is installed) a real re-executed run."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pde2gnn import allocator
from pde2gnn.cli.commands import main
from pde2gnn.errors import OptionError

ROOT = Path(__file__).resolve().parents[1]


def test_environment_preloads_the_library_and_keeps_the_users_settings(tmp_path):
    lib = tmp_path / "libjemalloc.so.2"
    lib.write_bytes(b"")
    env = allocator.environment(str(lib), {"PATH": "/bin"})
    assert env["LD_PRELOAD"] == str(lib.resolve())
    assert env["MALLOC_CONF"] == allocator.RETAIN and env["PATH"] == "/bin"
    mine = allocator.environment(str(lib), {"LD_PRELOAD": "/x/libother.so",
                                            "MALLOC_CONF": "narenas:1"})
    assert mine["LD_PRELOAD"] == f"{lib.resolve()}:/x/libother.so"    # jemalloc first
    assert mine["MALLOC_CONF"] == "narenas:1"                          # the user's wins


def test_missing_library_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(allocator.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(allocator, "SEARCH", (str(tmp_path),))
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    with pytest.raises(OptionError, match="libjemalloc was not found.*apt install libjemalloc2"):
        allocator.find_jemalloc("jemalloc")
    (tmp_path / "libjemalloc.so.2").write_bytes(b"")
    assert allocator.find_jemalloc("jemalloc") == str(tmp_path / "libjemalloc.so.2")
    with pytest.raises(OptionError, match="is not a file"):
        allocator.find_jemalloc(str(tmp_path / "nothing.so"))


def test_request_in_a_running_process_refuses_and_system_does_nothing(monkeypatch, capsys):
    monkeypatch.setattr(allocator, "loaded", lambda: False)
    allocator.request("system", ["simulate", "heat"])          # nothing to do
    with pytest.raises(OptionError, match="takes effect when a process starts"):
        allocator.request("jemalloc", ["simulate", "heat"])
    monkeypatch.setenv(allocator._MARK, "1")                    # re-executed, still not loaded
    with pytest.raises(OptionError, match="did not load jemalloc"):
        allocator.request("jemalloc", None)
    monkeypatch.delenv(allocator._MARK)
    monkeypatch.setattr(allocator, "loaded", lambda: True)      # preloaded: said, not redone
    allocator.request("jemalloc", None, log=print)
    assert "allocator: jemalloc" in capsys.readouterr().out
    monkeypatch.setattr(allocator, "loaded", lambda: False)
    assert main(["simulate", "heat", "--allocator", "jemalloc", "--quiet"]) == 2
    assert "takes effect when a process starts" in capsys.readouterr().err


def test_a_command_on_the_system_allocator_hints_once_for_large_states(monkeypatch, capsys):
    monkeypatch.setattr(allocator, "_advise", False)
    allocator.advise(1 << 30)                       # a library user: never
    allocator.request("system", None)               # the command line, glibc
    allocator.advise(allocator.MMAP_CEILING)        # not above the ceiling: nothing
    assert capsys.readouterr().out == ""
    allocator.advise(allocator.MMAP_CEILING + 1)
    allocator.advise(1 << 30)                       # once
    out = capsys.readouterr().out
    assert out.count("--allocator jemalloc") == 1 and "32 MiB" in out


@pytest.mark.slow
def test_the_command_reruns_itself_with_jemalloc(tmp_path):
    """A short simulate with --allocator jemalloc: the re-executed process has the library
    mapped and says so, and writes the same frames as the system allocator."""
    try:
        allocator.find_jemalloc("jemalloc")
    except OptionError:
        pytest.skip("libjemalloc is not installed on this machine")
    import numpy as np
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    out = {}
    for kind in ("system", "jemalloc"):
        path = tmp_path / f"{kind}.npz"
        proc = subprocess.run(
            [sys.executable, "-m", "pde2gnn", "simulate", "convection_diffusion", "--n", "8",
             "--trajectories", "2", "--frames", "3", "--sample", "0", "--no-png", "--quiet", "--out", str(path),
             "--allocator", kind], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert ("allocator: jemalloc" in proc.stdout) == (kind == "jemalloc")
        out[kind] = np.load(path)
    assert np.array_equal(out["system"]["frames"], out["jemalloc"]["frames"])
