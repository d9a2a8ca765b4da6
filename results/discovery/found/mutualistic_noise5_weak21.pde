model mutualistic_noise5_weak21
# found by `pde2gnn discover` from the candidates of 'mutualistic_candidates' (STLSQ threshold 0.725, relative residual 0.0158)
#   x^2                                       0.941495 +- 0.0016 (kept in 100 % of bootstrap fits)
#   x^3                                      -0.179235 +- 0.00019 (kept in 100 % of bootstrap fits)
#   sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))    0.949525 +- 0.0012 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.941495*x^2 - 0.179235*x^3 + 0.949525*sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))
