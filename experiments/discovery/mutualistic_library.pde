# Candidates for the mutualistic dynamics: the default library of `pde2gnn discover` plus the
# Holling type-II coupling of Gao, Barzel & Barabasi (2016) with its half-saturation constants
# (d, e, h) = (5, 0.9, 0.1) given. Sparse regression fits coefficients of fixed terms, so a
# saturation constant inside a term is not learnt: it must be in the library.
model mutualistic_candidates
field x : node[d]
dt(x) = (1 + x + x^2 + x^3
         + sum_j(x_j) + lap(x) + sum_j(x_i*x_j)
         + sum_j(x_j/(1 + x_j)) + sum_j(x_j^2/(1 + x_j^2)) + sum_j(x_i*x_j/(1 + x_i + x_j))
         + sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j)))
