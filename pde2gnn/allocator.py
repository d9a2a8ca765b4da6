"""The CPU memory allocator of a command: glibc's, or jemalloc keeping what it frees.

A training epoch on a large graph allocates the same tensors again every epoch: the forward
solve's stages, everything autograd saves, the backward pass's gradients. glibc's malloc serves
blocks above 32 MiB (a ``[N, 64]`` float32 state at N > 131,072) by ``mmap`` and returns them to
the kernel at ``free``, so every epoch faults its memory in again, 4 KiB at a time, each page
zeroed by the kernel. On a 2-D mesh of 10^6 nodes (GRAND-l, rk4, 64 channels, one thread;
``benchmarks/csr_epoch.py --graph mesh --order metis``) that is 5.4 million page faults and
24.8 CPU s per epoch; with jemalloc keeping freed pages for reuse, 603 faults and 10.0 s, and
the per-edge cost of an epoch is the same at 10^6 nodes as at 10^5 (the measurements are in
docs/guide/large-graphs.md, "jemalloc keeping freed memory").

The library must be loaded before the process starts (``LD_PRELOAD``), so
:func:`request` re-executes the command (``python -m pde2gnn ...``, same arguments, same
process id) with ``LD_PRELOAD`` naming libjemalloc and ``MALLOC_CONF`` = :data:`RETAIN`. The
settings matter: jemalloc's defaults, and ``torch.backends.xeon.run_cpu --enable-jemalloc``'s
``oversize_threshold:1,...``, serve large blocks from an arena that returns them at once, and
were measured no faster than glibc here. Peak memory grows little (8.75 against 8.42 GiB at
10^6 nodes): the freed pages are reused by the next epoch's tensors of the same sizes.

Importing this module does not import torch.
"""
from __future__ import annotations

import ctypes.util
import os
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from pde2gnn.errors import OptionError

#: jemalloc's settings for a process that reallocates the same sizes every epoch: no separate
#: arena for large blocks (``oversize_threshold:0``) and freed pages never returned to the
#: kernel (``dirty_decay_ms`` / ``muzzy_decay_ms`` -1)
RETAIN = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1"
#: where the library is looked for when the dynamic loader's cache does not know it
#: (Debian / Ubuntu's libjemalloc2, conda's jemalloc, a local build)
SEARCH = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
          "/usr/local/lib")
_MARK = "PDE2GNN_ALLOCATOR_EXEC"      # set in the re-executed process (no second attempt)
#: glibc's largest mmap threshold on 64-bit systems: blocks above it are mapped afresh
MMAP_CEILING = 32 << 20
_advise = False                      # a command runs on the system allocator: say when it costs


def find_jemalloc(choice: str) -> str:
    """The path (or loader name) of libjemalloc for ``--allocator CHOICE``: ``jemalloc`` looks
    in the loader's cache, ``$CONDA_PREFIX/lib`` and :data:`SEARCH`; any other value is taken
    as the library's path.

    Raises:
        OptionError: the library is not found, or the path is not a file.
    """
    if choice != "jemalloc":
        if not Path(choice).is_file():
            raise OptionError(f"--allocator: {choice} is not a file (give 'system', "
                              "'jemalloc' or the path of libjemalloc.so)")
        return str(Path(choice).resolve())
    name = ctypes.util.find_library("jemalloc")
    if name:
        return name
    dirs = [f"{os.environ['CONDA_PREFIX']}/lib"] if "CONDA_PREFIX" in os.environ else []
    for d in [*dirs, *SEARCH]:
        for lib in sorted(Path(d).glob("libjemalloc.so*")) if Path(d).is_dir() else ():
            return str(lib)
    raise OptionError("--allocator jemalloc: libjemalloc was not found (install it: apt install "
                      "libjemalloc2, or conda install -c conda-forge jemalloc; or give its path: "
                      "--allocator /path/to/libjemalloc.so.2)")


def loaded() -> bool:
    """Whether jemalloc is mapped into this process (preloaded)."""
    try:
        return "jemalloc" in Path("/proc/self/maps").read_text()
    except OSError:
        return False


def environment(choice: str, env: Mapping[str, str]) -> Dict[str, str]:
    """``env`` with libjemalloc (:func:`find_jemalloc`) first in ``LD_PRELOAD`` and
    ``MALLOC_CONF`` set to :data:`RETAIN` unless ``env`` sets it already.

    Raises:
        OptionError: as :func:`find_jemalloc`.
    """
    lib = find_jemalloc(choice)
    out = dict(env)
    out["LD_PRELOAD"] = ":".join([lib, *filter(None, [env.get("LD_PRELOAD")])])
    out.setdefault("MALLOC_CONF", RETAIN)
    return out


def request(choice: str, argv: Optional[List[str]], log=print) -> None:
    """The command line's ``--allocator``: ``system`` does nothing; ``jemalloc`` (or a path)
    re-executes this command with the library preloaded (:func:`environment`), unless it is
    loaded already, which the log then says. Does not return when it re-executes.

    Args:
        argv: the command's arguments; None when they are ``sys.argv[1:]`` (the command line).

    Raises:
        OptionError: the library is not found, or ``argv`` was given (``main([...])`` called
            from Python: the allocator of a running process cannot be changed).
    """
    global _advise
    if choice == "system":
        _advise = True
        return
    if loaded():
        log(f"allocator: jemalloc (MALLOC_CONF={os.environ.get('MALLOC_CONF', '')})")
        return
    if argv is not None:
        raise OptionError("--allocator takes effect when a process starts: give it on the "
                          "command line (pde2gnn ... --allocator jemalloc), or start Python "
                          f"with LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF={RETAIN}")
    restart(choice, [sys.executable, "-m", "pde2gnn", *sys.argv[1:]])


def restart(choice: str, command: List[str]) -> None:
    """Replace this process by ``command`` (``[python, ...]``, same process id) with
    libjemalloc preloaded (:func:`environment`); does not return.

    Raises:
        OptionError: as :func:`find_jemalloc`; or this process is such a restart already and
            jemalloc is not loaded (the loader ignored the preload: no second attempt).
    """
    if os.environ.get(_MARK):
        raise OptionError(f"--allocator: LD_PRELOAD={os.environ.get('LD_PRELOAD')} did not "
                          "load jemalloc (the loader printed why above)")
    env = {**environment(choice, os.environ), _MARK: "1"}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)


def advise(state_bytes: int, log=print) -> None:
    """Once per command run on the system allocator (:func:`request` with ``system``; never
    for a library user): a log line suggesting ``--allocator jemalloc`` when a CPU state of
    ``state_bytes`` is above :data:`MMAP_CEILING`, so that every new one is mapped afresh."""
    global _advise
    if not _advise or state_bytes <= MMAP_CEILING:
        return
    _advise = False
    log(f"allocator: glibc maps every state of this size ({state_bytes / 2 ** 20:.0f} MiB) "
        "afresh, faulting its pages in at each epoch; --allocator jemalloc keeps freed memory "
        "(2.47x faster epochs on a 10^6-node mesh here; docs/guide/large-graphs.md)")
