"""Progress output fit for a terminal and for a log file.

A progress bar (tqdm) is drawn only when stderr is a terminal or the code runs in a Jupyter
kernel (:func:`interactive`); otherwise it would write a carriage-return frame per update into
the log (21.6 KB for 100 epochs). Without a bar, ``pde2gnn train`` prints one line every
``--log-every`` epochs instead (:func:`pde2gnn.cli.commands._log_every`).
"""
from __future__ import annotations

import sys


def interactive() -> bool:
    """Whether a progress bar can be redrawn in place: stderr is a terminal, or a Jupyter
    kernel displays tqdm's widget."""
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) or "ipykernel" in sys.modules


def bar(iterable=None, enabled: bool = True, **kwargs):
    """``tqdm.auto.tqdm(iterable, **kwargs)``, disabled unless ``enabled`` and
    :func:`interactive` (a disabled bar iterates and accepts ``set_postfix`` / ``update`` /
    ``close`` silently)."""
    from tqdm.auto import tqdm
    return tqdm(iterable, disable=not (enabled and interactive()), **kwargs)
