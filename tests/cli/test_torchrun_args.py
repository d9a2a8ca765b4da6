"""Every option of ``simulate`` and ``train`` has a spelling that ``torchrun ... -m pde2gnn``
passes through to pde2gnn (issue 40 item 4).

torchrun's argparse looks at the whole command line for its own options, the script's
arguments included, and takes a prefix of one of them as that option: ``--n`` is an ambiguous
prefix of ``--nnodes`` / ``--nproc-per-node`` (an error), so ``simulate --n`` needs its alias
``--size``, ``train --start`` (n-body) ``--start-time``. The check runs torchrun's own parser
(``torch.distributed.run.get_args_parser``) on the real command line; the end-to-end run is
``tests/graph/test_partition.py::test_simulate_under_torchrun_equals_one_process``.
"""
import contextlib
import io

import pytest

from pde2gnn.cli.parser import build_parser

run = pytest.importorskip("torch.distributed.run")


def _passes(argv):
    """Whether torchrun hands ``argv`` (after ``-m pde2gnn``) to the script unchanged."""
    full = ["--standalone", "--nproc-per-node", "2", "-m", "pde2gnn"] + argv
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            ns = run.get_args_parser().parse_args(full)
    except SystemExit:
        return False
    return ns.training_script == "pde2gnn" and ns.training_script_args == argv


def _subparser(cmd):
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices[cmd]


@pytest.mark.parametrize("cmd", ["simulate", "train"])
def test_every_option_has_a_torchrun_spelling(cmd):
    stuck = [a.option_strings for a in _subparser(cmd)._actions
             if a.option_strings and a.dest != "help"
             and not any(_passes([cmd, "heat", o, "1"]) for o in a.option_strings)]
    assert not stuck, f"options torchrun swallows: {stuck}"


def test_size_is_simulate_n():
    assert not _passes(["simulate", "heat", "--n", "16"])          # the reason for the alias
    argv = ["simulate", "heat", "--graph", "grid", "--size", "16", "--partition", "2"]
    assert _passes(argv)
    args = build_parser().parse_args(argv)
    assert args.n == 16 and args.partition == 2
    assert build_parser().parse_args(["simulate", "heat", "--n", "16"]).n == 16
