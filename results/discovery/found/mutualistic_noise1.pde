model mutualistic_noise1
# found by `pde2gnn discover` from the candidates of 'mutualistic_candidates' (STLSQ threshold 0.887, relative residual 0.0301)
#   x^2                                       0.94473 +- 0.00048 (kept in 100 % of bootstrap fits)
#   x^3                                      -0.180324 +- 4.5e-05 (kept in 100 % of bootstrap fits)
#   sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))    0.955919 +- 0.0003 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.94473*x^2 - 0.180324*x^3 + 0.955919*sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))
