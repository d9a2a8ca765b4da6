"""Keep freed memory inside the process: glibc's malloc told not to hand large blocks back to
the kernel, so that a large graph's fresh states are not page-faulted and zero-filled again.

glibc's malloc serves an allocation above its mmap threshold (128 KiB at first, raised by
frees up to 32 MiB on 64-bit Linux) with its own ``mmap`` and returns it to the kernel with
``munmap`` when freed. One ``[N, 64]`` float32 state is 25.6 MB at N = 10^5, under the ceiling,
so after the first epoch it comes from the heap; at N = 10^6 it is 256 MB, above it, so every
state a Runge-Kutta stage, a product or a backward pass allocates is a fresh mapping whose pages
the kernel faults in and zero-fills at first touch (about 10 ns per edge and allocation at
10^6 nodes against 3 ns at 10^5 on this project's machine; docs/guide/large-graphs.md).
:func:`keep_freed_memory` sets ``M_MMAP_MAX = 0`` (every block from the heap) and
``M_TRIM_THRESHOLD`` to its largest value (the heap's free top is not given back), through
``mallopt(3)``; the peak memory is unchanged (the same blocks, reused), but the process does
not shrink after its peak. The same settings from outside the process, for any program:
``GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296``.

Only the command line (``train`` / ``simulate``: :func:`request`) and the benchmarks opt in;
importing this module changes nothing. The command line's setting takes effect at the first
solve whose state is larger than glibc's mmap ceiling (:func:`fit`, called where the threads
are chosen), so small problems (and the test suite) keep glibc's defaults. Not glibc (macOS,
musl, Windows): nothing is done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import platform

#: mallopt(3) parameter numbers (glibc's malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
#: the largest trim threshold mallopt takes (an int): 2 GiB of free heap top kept
TRIM_MAX = 2 ** 31 - 1
#: glibc's largest dynamic mmap threshold on 64-bit Linux (DEFAULT_MMAP_THRESHOLD_MAX): a
#: block above it is always a fresh mapping
MMAP_CEILING = 32 * 2 ** 20

_kept = False
_requested = False


def request() -> None:
    """The command line opts in: :func:`fit` keeps freed memory once a state is large."""
    global _requested
    _requested = True


def fit(state_bytes: int, log=print) -> None:
    """If the command line opted in (:func:`request`) and one state of ``state_bytes`` is
    above :data:`MMAP_CEILING`, :func:`keep_freed_memory` (once) and log it; otherwise
    nothing."""
    if not _requested or _kept or state_bytes <= MMAP_CEILING:
        return
    if keep_freed_memory():
        log(f"allocator: freed memory kept in the process (one state is "
            f"{state_bytes / 2 ** 20:.0f} MiB, above glibc's {MMAP_CEILING >> 20} MiB mmap "
            "ceiling: docs/guide/large-graphs.md)")


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to serve every block from the heap and keep freed memory (see the
    module's docstring). Idempotent; returns whether the settings are in force (False where
    the C library is not glibc or refused them).

    Effect measured on GRAND-l training epochs (``benchmarks/scale.py --part grand --malloc
    default keep``): docs/guide/large-graphs.md.
    """
    global _kept
    if _kept:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _kept = bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD,
                                                                         TRIM_MAX))
    except (OSError, AttributeError):
        _kept = False
    return _kept
