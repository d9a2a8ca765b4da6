model heat_noise5
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.197, relative residual 0.11)
#   sum_j(x_j)                                0 +- 0.032 (kept in 23 % of bootstrap fits)
#   lap(x)                                    0.498775 +- 0.0017 (kept in 100 % of bootstrap fits)
#   sum_j(x_i*x_j)                            0 +- 0.014 (kept in 13 % of bootstrap fits)
#   sum_j(x_j/(1 + x_j))                      0 +- 0.035 (kept in 23 % of bootstrap fits)
#   sum_j(x_j^2/(1 + x_j^2))                  0 +- 0.027 (kept in 19 % of bootstrap fits)
#   sum_j(x_i*x_j/(1 + x_i + x_j))            0 +- 0.039 (kept in 13 % of bootstrap fits)
field x : node[d]
dt(x) = 0.498775*lap(x)
