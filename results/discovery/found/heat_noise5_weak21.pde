model heat_noise5_weak21
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.463, relative residual 0.011)
#   sum_j(x_j)                                0 +- 0.01 (kept in 1 % of bootstrap fits)
#   lap(x)                                    0.500124 +- 0.00059 (kept in 100 % of bootstrap fits)
#   sum_j(x_i*x_j)                            0 +- 0.0035 (kept in 1 % of bootstrap fits)
#   sum_j(x_j/(1 + x_j))                      0 +- 0.011 (kept in 1 % of bootstrap fits)
#   sum_j(x_j^2/(1 + x_j^2))                  0 +- 0.0092 (kept in 1 % of bootstrap fits)
#   sum_j(x_i*x_j/(1 + x_i + x_j))            0 +- 0.011 (kept in 1 % of bootstrap fits)
field x : node[d]
dt(x) = 0.500124*lap(x)
