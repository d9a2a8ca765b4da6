"""Integrators beside the explicit Runge-Kutta loop (:mod:`pde2gnn.rk`): implicit and IMEX
additive Runge-Kutta methods on the compiler's split f(t, y) = L y + N(t, y)
(:mod:`.imex_tableaus`, :mod:`.imex`, :mod:`.newton`), the linear solvers they use
(:mod:`.linsolve`), and ``torch.compile`` of whole fixed-step steps (:mod:`.compiled`).
"""
