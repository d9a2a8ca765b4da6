"""Integrators on the compiler's split f(t, y) = L y + N(t, y): implicit and IMEX additive
Runge-Kutta methods (:mod:`.imex_tableaus`, :mod:`.imex`) and the linear solvers they use
(:mod:`.linsolve`). The explicit loop is :mod:`pde2gnn.rk`."""
