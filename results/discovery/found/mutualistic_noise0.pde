model mutualistic_noise0
# found by `pde2gnn discover` from the candidates of 'mutualistic_candidates' (STLSQ threshold 0.00311, relative residual 1.92e-07)
#   1                                         0.0987268 +- 7.1e-05 (kept in 100 % of bootstrap fits)
#   x                                        -0.996587 +- 0.00012 (kept in 100 % of bootstrap fits)
#   x^2                                       1.19909 +- 2.9e-05 (kept in 100 % of bootstrap fits)
#   x^3                                      -0.199916 +- 2.6e-06 (kept in 100 % of bootstrap fits)
#   sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))    0.999723 +- 8.2e-06 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.0987268 - 0.996587*x + 1.19909*x^2 - 0.199916*x^3 + 0.999723*sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))
