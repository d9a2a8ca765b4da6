model mutualistic_noise5
# found by `pde2gnn discover` from the candidates of 'mutualistic_candidates' (STLSQ threshold 1.26, relative residual 0.43)
#   x^2                                       0.9248 +- 0.002 (kept in 100 % of bootstrap fits)
#   x^3                                      -0.174522 +- 0.00021 (kept in 100 % of bootstrap fits)
#   sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))    0.917805 +- 0.0016 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.9248*x^2 - 0.174522*x^3 + 0.917805*sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))
