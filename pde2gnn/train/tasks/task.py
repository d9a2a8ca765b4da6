"""The protocol of a ``pde2gnn train`` task (:class:`Task`) and the option helpers the tasks
share. No torch import here: the command-line parser is built from the tasks' options when any
command starts (:mod:`pde2gnn.train.tasks.registry` lists the tasks)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, FrozenSet, List, Optional

from pde2gnn.errors import OptionError
from pde2gnn.options import check_params, unset

#: options of ``pde2gnn train`` that several tasks read (each task lists those it uses)
SHARED = ("data", "epochs", "lr", "weight_decay", "hidden", "method", "rtol", "atol", "max_nfe",
          "patience")


def kv(items: Optional[List[str]], cast) -> dict:
    """``["a=1", "b=2"]`` -> ``{"a": cast("1"), "b": cast("2")}`` (``--dim`` / ``--param``).

    Float values (``--param``) must be finite and fit in float32
    (:func:`pde2gnn.options.check_params`).

    Raises:
        OptionError: an item without ``=``, a value ``cast`` rejects, or a non-finite /
            overflowing float.
    """
    out = {}
    for it in items or []:
        if "=" not in it:
            raise OptionError(f"expected NAME=VALUE, got '{it}'")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = cast(v)
        except ValueError:
            raise OptionError(f"bad value in '{it}'") from None
    if cast is float:
        check_params(out)
    return out


def given(args, names) -> Dict[str, Any]:
    """The options among ``names`` given on the command line (not None); one given as
    ``none`` (:data:`pde2gnn.options.UNSET`, e.g. ``--step-size none``) is None, overriding the
    TOML's value."""
    return {n: unset(getattr(args, n)) for n in names if getattr(args, n, None) is not None}


def from_values(cls, values: Dict[str, Any], where: str):
    """``cls(**values)`` for a config dataclass, an unknown key a located error."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise OptionError(f"{where}: unknown hyperparameter(s) {', '.join(unknown)} (known: "
                          f"{', '.join(sorted(known))})")
    return cls(**values)


class Task:
    """One kind of training run; subclasses fill in the hooks below.

    An instance lives for one ``pde2gnn train`` command: ``spec_path`` (the resolved spec) and
    ``args`` (the parsed options). The loop calls :meth:`setup` (data and configuration),
    :meth:`describe`, then :meth:`run` per (split, seed) with :meth:`run_line` after each, and
    :meth:`report` at the end; the results file holds :meth:`header`, :meth:`summarize` of the
    runs, the config and the runs.

    Class attributes: ``name`` (the ``--task`` value), ``help``, ``shared`` (the options of
    :data:`SHARED` it reads; the others are refused), ``data_parallel`` (``--distributed``
    splits every run's data over the ranks, DDP, instead of spreading the runs), ``fields``
    (what each key of its summary and runs means, with its unit: stored in the results file),
    ``logs_every_epoch`` (the ``log`` callback of :meth:`run` is called once per epoch, so
    ``--log-every N`` keeps every N-th line; False: once per evaluation, every line kept).
    """

    name: ClassVar[str]
    help: ClassVar[str]
    shared: ClassVar[FrozenSet[str]] = frozenset()
    data_parallel: ClassVar[bool] = False
    fields: ClassVar[Dict[str, str]] = {}
    logs_every_epoch: ClassVar[bool] = True

    def __init__(self, spec_path: Path, args):
        self.spec_path, self.args = Path(spec_path), args

    @staticmethod
    def add_options(group) -> None:
        """Add this task's own options (default None) to an argparse group."""

    @staticmethod
    def config_defaults() -> Dict[str, Any]:
        """The built-in run configuration (``to_dict()`` of the config dataclass with no
        values): what a results file written before a key existed ran with (``--resume``,
        ``pde2gnn merge``)."""
        return {}

    def setup(self):
        """``(data, config)``: the task's data (:meth:`load`) and its run configuration
        (:meth:`configure`, a dataclass with ``to_dict()``), in the order the task needs.

        Raises:
            DataError, OptionError: saying what and where.
        """
        data = self.load()
        return data, self.configure(data)

    def load(self):
        """The task's data."""
        raise NotImplementedError

    def configure(self, data):
        """The run configuration, from the spec's TOML and the options."""
        raise NotImplementedError

    def dataset(self, data) -> str:
        """The data set's name, as recorded in the results file."""
        return data.name

    def describe(self, data, config) -> List[str]:
        """Lines printed before the first run."""
        return [f"config: {json.dumps(config.to_dict())}"]

    def num_splits(self, data) -> int:
        """How many splits the data offers (``--splits`` may ask for up to this many)."""
        return 1

    def run(self, data, config, split_index: int, seed: int, device: str,
            log: Callable[[str], None]) -> dict:
        """One training run; returns its metrics (JSON-serialisable)."""
        raise NotImplementedError

    def run_line(self, r: dict) -> str:
        """One line about a finished run (after ``split S seed K: ``)."""
        raise NotImplementedError

    @staticmethod
    def summarize(runs: List[dict]) -> dict:
        """Mean ± std etc. over runs (also recomputed by ``pde2gnn merge``)."""
        raise NotImplementedError

    def report(self, data, summary: dict, runs: List[dict]) -> List[str]:
        """Lines printed after the last run."""
        raise NotImplementedError

    def header(self, data, config) -> dict:
        """Fields of the results file besides the summary, config and runs."""
        return {}

    # helpers shared by the subclasses -------------------------------------------------------
    def toml_values(self, dataset: Optional[str]) -> Dict[str, Any]:
        """The spec's TOML defaults for ``dataset`` (:func:`pde2gnn.train.config.load_defaults`)."""
        from pde2gnn.train.config import load_defaults
        return load_defaults(self.spec_path, dataset)

    @property
    def progress(self) -> bool:
        return not self.args.quiet
