"""Time integration of a compiled field f(t, y): Butcher tableaus as data (explicit, implicit, IMEX),
the fused Runge-Kutta loop with torchdiffeq's semantics, implicit and IMEX loops, linear solvers,
SolverConfig and ODEBlock. May import the compiler and the shared vocabulary; never graph, data,
models, train, simulate, discover or cli.

Integrators beside the explicit Runge-Kutta loop (:mod:`pde2gnn.integrate.rk`): implicit and IMEX
additive Runge-Kutta methods on the compiler's split f(t, y) = L y + N(t, y)
(:mod:`.imex_tableaus`, :mod:`.imex`, :mod:`.newton`), the linear solvers they use
(:mod:`.linsolve`), and ``torch.compile`` of whole fixed-step steps (:mod:`.compiled`).
"""
