model mutualistic_noise1_weak21
# found by `pde2gnn discover` from the candidates of 'mutualistic_candidates' (STLSQ threshold 0.0605, relative residual 0.000602)
#   x                                        -0.911532 +- 0.0038 (kept in 100 % of bootstrap fits)
#   x^2                                       1.18249 +- 0.0012 (kept in 100 % of bootstrap fits)
#   x^3                                      -0.198887 +- 0.00011 (kept in 100 % of bootstrap fits)
#   sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))    0.998498 +- 0.00035 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = -0.911532*x + 1.18249*x^2 - 0.198887*x^3 + 0.998498*sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))
