"""Layer: equation discovery. May import the compiler, integrate, graph, data and the shared
vocabulary; never models, train or cli.

Equation discovery: recover a spec ``dt(x) = sum_k c_k theta_k(x)`` from trajectories.

Sparse regression of SINDy (Brunton, Proctor & Kutz, PNAS 2016) on a graph, in the form of Gao &
Yan (Nature Computational Science 2022): dx_i/dt = F(x_i) + sum_j A_ij G(x_i, x_j), with F and G
linear combinations of candidate terms. The candidates are the additive terms of the ``dt``
equation of a *library spec* (:data:`DEFAULT_LIBRARY` when none is given), each compiled by the
pde2gnn pipeline into its own vector field, so a term means exactly what it means in a spec.

Steps (:func:`discover`): time derivatives and smoothed states by local polynomial least squares
(or the weak form); features reduced to per-trajectory normal equations; STLSQ with the threshold
cross-validated over trajectories (one-standard-error rule); a bootstrap spread; the found
equation as a spec, validated by simulating it from held-out initial states.

Modules: :mod:`.data` (trajectories), :mod:`.library` (candidates), :mod:`.operators` (time
operators), :mod:`.gram` (features, Grams), :mod:`.regression` (STLSQ, CV, bootstrap),
:mod:`.validation` (simulate and compare), :mod:`.pipeline` (config, result, discover, run).
"""
from pde2gnn.discover.data import Trajectories, load_trajectories
from pde2gnn.discover.gram import Grams, TermEvaluator, trajectory_gram
from pde2gnn.discover.library import DEFAULT_LIBRARY, Library, load_library
from pde2gnn.discover.operators import local_polynomial_operators, weak_form_operators
from pde2gnn.discover.pipeline import (Discovery, DiscoveryConfig, discover, found_spec, run,
                       summary_lines)
from pde2gnn.discover.regression import bootstrap, cross_validate, stlsq, threshold_grid
from pde2gnn.discover.validation import plot_validation, validate

__all__ = ["DEFAULT_LIBRARY", "Discovery", "DiscoveryConfig", "Grams", "Library", "TermEvaluator",
           "Trajectories", "bootstrap", "cross_validate", "discover", "found_spec",
           "load_library", "load_trajectories", "local_polynomial_operators", "plot_validation",
           "run", "stlsq", "summary_lines", "threshold_grid", "trajectory_gram", "validate",
           "weak_form_operators"]
