# A-DGN (Gravina, Bacciu, Gallicchio, ICLR 2023, "Anti-Symmetric DGN: a stable architecture for
# Deep Graph Networks", eq. 5-6; gravins/Anti-SymmetricDGN AntiSymmetricConv):
#   dx/dt = tanh((W - W^T - gamma I) x + Phi(N(x)) + b),   Phi = sum_j V x_j (simple aggregation),
# integrated by forward Euler with step epsilon and shared weights: x <- x + eps * tanh(...).
# W - W^T has a purely imaginary spectrum, so the flow neither dissipates nor explodes; gamma
# I damps it slightly for the discretisation's stability.
model adgn
field x : node[d]
learn W : [d, d] antisym                 # W - W^T
learn V : [d, d]                         # neighbour aggregation
learn b : [d]
param gamma = 0.1
dt(x) = tanh(x @ W - gamma * x + sum_j(x_j) @ V + b)
