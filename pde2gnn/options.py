"""The range of every numeric option, in one table (:data:`RULES`), shared by the command line
and the run configurations.

The ``pde2gnn`` parser (:mod:`pde2gnn.cli.parser`) gives every ``int`` / ``float`` option of
``train``, ``simulate`` and ``discover`` the rule of its name (:func:`attach`); the configuration
dataclasses of the tasks (``TrainConfig``, ``ForecastConfig``, ``DynamicsConfig``,
``NBodyConfig``, ``SolverConfig``, ``SimulationConfig``, ``DiscoveryConfig``) check their fields
with the same rules (:func:`check_fields`), so a value from a TOML file or from the Python API
is refused with the same words as one from the command line. A new numeric option gets its
check by naming its rule here: the parser refuses to build with a numeric option that has none.

Floats must be finite and representable in float32 (``|v| <= 3.4e38``: the models run in
float32, and a larger value becomes ``inf`` there). Every refusal is an
:class:`~pde2gnn.errors.OptionError` naming the option (``--seed must be at least 0, got -1``).
Nothing here imports torch, except :func:`check_device`.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

from pde2gnn.errors import OptionError

#: the largest finite float32 (torch.finfo(torch.float32).max)
FLOAT32_MAX = 3.4028234663852886e38


@dataclass(frozen=True)
class Rule:
    """A range of numbers: ``kind`` (``int`` or ``float``) and bounds ``lo`` / ``hi`` (None:
    unbounded), each closed or open (``lo_open`` / ``hi_open``)."""

    kind: type
    lo: Optional[float] = None
    hi: Optional[float] = None
    lo_open: bool = False
    hi_open: bool = False

    @property
    def range(self) -> str:
        """The range in words: ``at least 1``, ``above 0``, ``in [0, 1)``."""
        lo, hi = (self.lo, self.hi) if self.kind is int else \
            tuple(None if b is None else f"{b:g}" for b in (self.lo, self.hi))
        if lo is not None and hi is not None:
            return f"in {'(' if self.lo_open else '['}{lo}, {hi}{')' if self.hi_open else ']'}"
        if lo is not None:
            return f"{'above' if self.lo_open else 'at least'} {lo}"
        if hi is not None:
            return f"{'below' if self.hi_open else 'at most'} {hi}"
        return ""

    @property
    def what(self) -> str:
        """What a valid value is: ``an integer at least 1``, ``a finite number above 0``."""
        noun = "an integer" if self.kind is int else "a finite number"
        return f"{noun} {self.range}".rstrip()

    def check(self, name: str, value: Any):
        """``value`` if it is in the range (an int for an int rule, a float for a float rule).

        Raises:
            OptionError: ``{name} must be ..., got {value!r}``.
        """
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                (self.kind is int and not isinstance(value, numbers.Integral)):
            raise OptionError(f"{name} must be {self.what}, got {value!r}")
        if self.kind is float:
            value = float(value)
            if not math.isfinite(value):
                raise OptionError(f"{name} must be {self.what}, got {value!r}")
            if abs(value) > FLOAT32_MAX:
                raise OptionError(f"{name} must be at most {FLOAT32_MAX:.4g} in magnitude (it "
                                  f"overflows float32), got {value!r}")
        else:
            value = int(value)
        lo_bad = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        hi_bad = self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi)
        if lo_bad or hi_bad:
            raise OptionError(f"{name} must be {self.range}, got {value!r}")
        return value

    def parser(self, option: str, nullable: bool = False):
        """The argparse ``type`` of ``option``: text -> checked value (an OptionError, not an
        argparse error, so the command line prints it as one line and exits 2); ``nullable``:
        ``none`` gives :data:`UNSET` (the option's TOML value, if any, back to None)."""
        def parse(text: str):
            if nullable and text.strip().lower() == "none":
                return UNSET
            try:
                value = int(text) if self.kind is int else float(text)
            except ValueError:
                raise OptionError(f"{option} must be {self.what}, got '{text}'") from None
            return self.check(option, value)
        parse.__name__ = self.kind.__name__   # argparse names the type in its own messages
        return parse


class _Unset:
    """The value of a :data:`NULLABLE` option given as ``none`` on the command line."""

    def __repr__(self) -> str:
        return "none"


#: ``--step-size none``: unset, where a TOML file set it (e.g. a library spec's rk4 step, for an
#: adaptive ``--method``); :func:`unset` turns it into None for the configuration
UNSET = _Unset()
#: the options whose command-line value may be ``none`` (their configurations' default is None)
NULLABLE = frozenset({"step_size"})


def unset(value: Any) -> Any:
    """``value``, None for :data:`UNSET`."""
    return None if value is UNSET else value


POSITIVE_INT = Rule(int, lo=1)
NON_NEGATIVE_INT = Rule(int, lo=0)
#: numpy's and torch's seeds: 0 <= seed < 2^32
SEED = Rule(int, lo=0, hi=2 ** 32 - 1)
FINITE = Rule(float)
POSITIVE = Rule(float, lo=0, lo_open=True)
NON_NEGATIVE = Rule(float, lo=0)
#: a dropout probability
PROBABILITY = Rule(float, lo=0, hi=1, hi_open=True)
#: a restart probability, a split fraction's upper end
UNIT = Rule(float, lo=0, hi=1, lo_open=True)

#: option / configuration field name -> its rule (one name, one meaning in every command)
RULES: Dict[str, Rule] = {
    # train: the loop
    "seeds": POSITIVE_INT, "first_seed": NON_NEGATIVE_INT, "first_split": NON_NEGATIVE_INT,
    "splits": POSITIVE_INT, "threads": NON_NEGATIVE_INT, "log_every": NON_NEGATIVE_INT,
    "labels_per_class": POSITIVE_INT,
    "seed": SEED,
    # train: shared by the tasks
    "epochs": POSITIVE_INT, "lr": POSITIVE, "weight_decay": NON_NEGATIVE, "hidden": POSITIVE_INT,
    "rtol": POSITIVE, "atol": POSITIVE, "adjoint_rtol": POSITIVE, "adjoint_atol": POSITIVE,
    "max_nfe": POSITIVE_INT, "patience": NON_NEGATIVE_INT,
    "step_size": POSITIVE, "linear_maxiter": POSITIVE_INT, "memory_limit": POSITIVE,
    # node classification
    "time": POSITIVE, "dropout": PROBABILITY, "input_dropout": PROBABILITY,
    "sheaf_decay": NON_NEGATIVE, "posenc_dim": NON_NEGATIVE_INT, "ppr_alpha": UNIT,
    "ppr_topk": NON_NEGATIVE_INT, "ppr_eps": PROBABILITY, "knn_k": NON_NEGATIVE_INT, "rewire_every": NON_NEGATIVE_INT,
    "select_time": NON_NEGATIVE, "select_points": POSITIVE_INT,
    # forecasting
    "n_in": POSITIVE_INT, "n_out": POSITIVE_INT, "batch_size": POSITIVE_INT, "ss_k": POSITIVE,
    "grad_clip": NON_NEGATIVE, "stride": POSITIVE_INT, "max_windows": POSITIVE_INT,
    "max_windows_per_epoch": POSITIVE_INT,
    # dynamics, nbody
    "eval_every": POSITIVE_INT, "layers": POSITIVE_INT, "batch": POSITIVE_INT,
    "start": NON_NEGATIVE, "horizon": POSITIVE, "max_train": POSITIVE_INT,
    # simulate
    "nodes": POSITIVE_INT, "loc_std": POSITIVE, "vel_norm": NON_NEGATIVE, "n": POSITIVE_INT,
    "points": POSITIVE_INT, "k": POSITIVE_INT, "trajectories": POSITIVE_INT,
    "frames": POSITIVE_INT, "dt": POSITIVE, "modes": POSITIVE_INT, "sample": NON_NEGATIVE_INT,
    "sample_k": POSITIVE_INT, "fixed_point_time": POSITIVE, "steady_tol": POSITIVE,
    "fps": POSITIVE_INT, "partition": NON_NEGATIVE_INT,
    # discover
    "window": POSITIVE_INT, "order": POSITIVE_INT, "weak_window": NON_NEGATIVE_INT,
    "folds": Rule(int, lo=2), "bootstrap": NON_NEGATIVE_INT, "threshold": NON_NEGATIVE,
    "cv_tolerance": NON_NEGATIVE, "tolerance": NON_NEGATIVE,
    "max_trajectories": NON_NEGATIVE_INT, "noise": NON_NEGATIVE,
}


def check(name: str, value: Any, rule: Optional[Rule] = None):
    """``value`` checked by ``rule`` (default: the rule of ``name`` in :data:`RULES`).

    Raises:
        OptionError: naming ``name``.
    """
    return (rule or RULES[name]).check(name, value)


def check_fields(config, names: Optional[Sequence[str]] = None, prefix: str = "") -> None:
    """Check the fields of a configuration dataclass that have a rule (None values skipped:
    "not set"); ``names`` limits the check to those fields. Error messages name the field
    (``prefix + name``).

    Raises:
        OptionError: the first field out of range.
    """
    for f in dataclasses.fields(config):
        if f.name in RULES and (names is None or f.name in names):
            value = getattr(config, f.name)
            if value is not None:
                check(prefix + f.name, value)


def check_params(params: Dict[str, Any], what: str = "param") -> None:
    """Every value finite and inside float32 (``--param NAME=VALUE``, ``[*.params]``).

    Raises:
        OptionError: ``param 'kappa' must be a finite number, got inf``.
    """
    for name, value in params.items():
        FINITE.check(f"{what} '{name}'", value)


def fractions(text: str, option: str, count: int = 3) -> tuple:
    """``"0.7,0.15,0.15"`` -> ``(0.7, 0.15, 0.15)``: ``count`` numbers in [0, 1] that sum to 1.

    Raises:
        OptionError: naming ``option``: not numbers, another count, out of [0, 1], or a sum
            other than 1 (to 1e-6).
    """
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise OptionError(f"{option} needs {count} comma-separated fractions, got "
                          f"'{text}'") from None
    if len(values) != count:
        raise OptionError(f"{option} needs {count} comma-separated fractions, got '{text}'")
    for v in values:
        Rule(float, lo=0, hi=1).check(option, v)
    if abs(sum(values) - 1) > 1e-6:
        raise OptionError(f"{option} fractions must sum to 1, got '{text}' (sum {sum(values):g})")
    return values


#: device types pde2gnn runs on
DEVICES = ("cpu", "cuda")


def check_device(device: str, option: str = "--device") -> str:
    """``device`` if torch can run pde2gnn's models there: ``cpu``, or ``cuda`` / ``cuda:K``
    with a visible GPU K. Other torch device types (``meta``, ``mps``, ``xla``...) are refused
    up front instead of failing inside the first sparse product.

    Raises:
        OptionError: not a device string, an unsupported type, or no such GPU.
    """
    import torch
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise OptionError(f"{option} must be one of cpu, cuda, cuda:K, got '{device}'") from None
    if dev.type not in DEVICES:
        raise OptionError(f"{option} {device}: pde2gnn runs on {' or '.join(DEVICES)} only")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionError(f"{option} {device}: no CUDA GPU is visible to torch "
                              f"(torch.cuda.is_available() is False); use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise OptionError(f"{option} {device}: only {torch.cuda.device_count()} CUDA "
                              f"GPU(s) are visible (cuda:0 to "
                              f"cuda:{torch.cuda.device_count() - 1})")
    return device


def attach(parser) -> None:
    """Give every ``int`` / ``float`` option of ``parser`` (and of its subcommands) the
    :data:`RULES` rule of its destination as its argparse ``type``.

    Raises:
        KeyError: a numeric option without a rule (a programming error: add it to RULES).
    """
    import argparse
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                attach(sub)
        elif action.type in (int, float):
            if action.dest not in RULES:
                raise KeyError(f"option {action.option_strings[0]} has no rule in "
                               "pde2gnn.options.RULES")
            rule = RULES[action.dest]
            if rule.kind is not action.type:
                raise KeyError(f"option {action.option_strings[0]} is {action.type.__name__}, "
                               f"its rule in pde2gnn.options.RULES {rule.kind.__name__}")
            action.type = rule.parser(action.option_strings[0], action.dest in NULLABLE)
