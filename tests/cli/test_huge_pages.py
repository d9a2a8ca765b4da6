"""The command line turns on torch's transparent-huge-page allocation (``THP_MEM_ALLOC_ENABLE``)
before torch is imported, unless the user set it: a large tensor is then backed by huge pages
(``AnonHugePages`` in ``/proc/self/smaps_rollup`` grows when it is written), which this checks
in a fresh process, where torch reads the variable at its first allocation. Skipped where the
kernel offers no transparent huge pages, or gives them to every allocation (``always``)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import os; from pde2gnn.cli.commands import main; main(['check', 'heat']); "
         "import torch\n"
         "def huge():\n"
         "    for line in open('/proc/self/smaps_rollup'):\n"
         "        if line.startswith('AnonHugePages:'):\n"
         "            return int(line.split()[1])\n"
         "before = huge(); t = torch.empty(64 << 20, dtype=torch.uint8).fill_(1)\n"
         "print(os.environ['THP_MEM_ALLOC_ENABLE'], huge() > before)")
THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def _probe(env_value):
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    env["PYTHONPATH"] = str(ROOT)
    if env_value is not None:
        env["THP_MEM_ALLOC_ENABLE"] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True).stdout.split()
    return out[-2], out[-1] == "True"


@pytest.mark.skipif(not THP.exists() or "[madvise]" not in THP.read_text(),
                    reason="transparent huge pages not in madvise mode here")
def test_cli_enables_huge_page_allocation_before_torch_starts():
    value, huge = _probe(None)
    assert value == "1" and huge
    assert not _probe("0")[1]


def test_the_users_setting_wins():
    assert _probe("0")[0] == "0"
