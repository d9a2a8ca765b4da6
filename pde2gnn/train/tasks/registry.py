"""The tasks of ``pde2gnn train`` as registered plugins behind one run loop.

A task says which options it adds to ``pde2gnn train`` and which shared ones it reads, how it
loads its data, how it builds its configuration (built-in defaults < the spec's TOML
``[default]`` < the data set's table < the command line, :func:`pde2gnn.train.config.load_defaults`),
how one (split, seed) run goes, and how runs are summarised. :mod:`pde2gnn.cli.commands` owns what is
common: the loop over splits x seeds, ``--resume``, ``--distributed`` and the results file
written after every run (:mod:`pde2gnn.train.results`).

======================  =============================================  =====================
task                    what it trains                                 chosen
======================  =============================================  =====================
``node_classification`` a continuous spec as the ODE block of a        continuous specs
                        node classifier (GRAND, BLEND, GRAFF, NSD)
``forecasting``         a discrete-time spec as a graph-signal         discrete-time specs
                        forecaster (PA-DGN protocol)
``dynamics``            a continuous spec fitted to one observed       ``--task dynamics``
                        trajectory (NDCN protocol)
``nbody``               compiled EGNN layers on the charged N-body     ``--task nbody``
                        systems (EGNN protocol)
======================  =============================================  =====================

Adding a task is one :class:`~pde2gnn.train.tasks.task.Task` subclass in :mod:`pde2gnn.train.tasks.plugins`
and one line in :data:`TASKS`. Nothing here imports torch (the parser is built from it when any
command starts); a task imports its training module when it runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

from pde2gnn.errors import OptionError
from pde2gnn.train.tasks.plugins.dynamics import Dynamics
from pde2gnn.train.tasks.plugins.forecasting import Forecasting
from pde2gnn.train.tasks.plugins.nbody import NBody
from pde2gnn.train.tasks.plugins.node_classification import NodeClassification

#: the tasks by ``--task`` name
TASKS: Dict[str, type] = {t.name: t for t in (NodeClassification, Forecasting, Dynamics, NBody)}


def select(spec_path: Path, name: Optional[str]) -> type:
    """The task for a spec: ``name`` (``--task``) if given, else forecasting for a
    discrete-time spec and node classification for a continuous one.

    Raises:
        OptionError: an unknown task name.
        SpecError: the spec does not parse or check (it is read to tell the two apart).
    """
    if name is not None:
        if name not in TASKS:
            raise OptionError(f"unknown task '{name}' (choose {', '.join(TASKS)})")
        return TASKS[name]
    from pde2gnn.compiler import pipeline as compiler
    return Forecasting if compiler.is_discrete(spec_path) else NodeClassification
