"""pde2gnn.allocator: glibc told to keep freed memory (issue 40), only where the command line
asked for it and a state is above glibc's mmap ceiling."""
import platform
import subprocess
import sys
import textwrap

import pytest

from pde2gnn import allocator

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

#: a 128 MiB block written, freed; the resident set after the free, against before it
PROBE = textwrap.dedent("""
    import sys
    import numpy as np
    from pde2gnn import allocator
    if sys.argv[1] == "keep":
        assert allocator.keep_freed_memory()
    def rss():
        return int(open("/proc/self/statm").read().split()[1]) * 4096
    before = rss()
    a = np.ones(16 * 2 ** 20)          # 128 MiB, written
    a = None
    print((rss() - before) / 2 ** 20)
""")


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
@pytest.mark.parametrize("mode", ["default", "keep"])
def test_a_freed_large_block_stays_resident_only_when_kept(mode):
    """With glibc's defaults a 128 MiB block is its own mapping, returned to the kernel when
    freed (resident set back to where it was); kept, it stays in the heap (resident)."""
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True)
    grown = float(out.stdout.strip())
    if mode == "keep":
        assert grown > 100
    else:
        assert grown < 28


def test_fit_acts_only_after_a_request_and_above_the_ceiling(monkeypatch):
    """No request: nothing, whatever the size; requested: nothing at or below the 32 MiB
    ceiling, and above it :func:`keep_freed_memory` once, with one log line."""
    calls, lines = [], []
    monkeypatch.setattr(allocator, "_requested", False)
    monkeypatch.setattr(allocator, "_kept", False)

    def keep():
        calls.append(1)
        allocator._kept = True
        return True
    monkeypatch.setattr(allocator, "keep_freed_memory", keep)
    allocator.fit(10 * allocator.MMAP_CEILING, log=lines.append)
    assert not calls
    allocator.request()
    allocator.fit(allocator.MMAP_CEILING, log=lines.append)
    assert not calls
    allocator.fit(allocator.MMAP_CEILING + 1, log=lines.append)
    allocator.fit(10 * allocator.MMAP_CEILING, log=lines.append)
    assert calls == [1] and len(lines) == 1 and "kept" in lines[0]
