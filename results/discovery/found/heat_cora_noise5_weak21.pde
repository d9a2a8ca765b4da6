model heat_cora_noise5_weak21
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.0356, relative residual 0.361)
#   lap(x)                                    1.00035 +- 0.00085 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 1.00035*lap(x)
