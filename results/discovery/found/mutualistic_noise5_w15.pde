model mutualistic_noise5_w15
# found by `pde2gnn discover` from the candidates of 'mutualistic_candidates' (STLSQ threshold 1.17, relative residual 0.0821)
#   x^2                                       0.933206 +- 0.0017 (kept in 100 % of bootstrap fits)
#   x^3                                      -0.177096 +- 0.00017 (kept in 100 % of bootstrap fits)
#   sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))    0.935182 +- 0.0012 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.933206*x^2 - 0.177096*x^3 + 0.935182*sum_j(x_i*x_j/(5 + 0.9*x_i + 0.1*x_j))
