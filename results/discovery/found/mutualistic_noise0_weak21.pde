model mutualistic_noise0_weak21
# found by `pde2gnn discover` from the candidates of 'mutualistic_candidates' (STLSQ threshold 0.00162, relative residual 2.3e-08)
#   1                                         0.0993917 +- 3.9e-05 (kept in 100 % of bootstrap fits)
#   x                                        -0.998051 +- 6.7e-05 (kept in 100 % of bootstrap fits)
#   x^2                                       1.19958 +- 1.7e-05 (kept in 100 % of bootstrap fits)
#   x^3                                      -0.19997 +- 1.6e-06 (kept in 100 % of bootstrap fits)
#   sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))    0.999933 +- 5.6e-06 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.0993917 - 0.998051*x + 1.19958*x^2 - 0.19997*x^3 + 0.999933*sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))
