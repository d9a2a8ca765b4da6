"""Data sets (torch_geometric raw layouts, splits) and forecasting series (sensor and simulate files).
May import graph, the compiler and the shared vocabulary; never models, train, simulate, discover
or cli.
"""

import importlib

_LAZY = {"load_dataset": "pde2gnn.data.datasets", "random_split": "pde2gnn.data.datasets",
         "largest_connected_component": "pde2gnn.data.datasets",
         "ForecastData": "pde2gnn.data.forecast"}


def __getattr__(name):
    """PEP 562: ``pde2gnn.data.load_dataset`` and friends without importing torch_geometric
    before they are used."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
