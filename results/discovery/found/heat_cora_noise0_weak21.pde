model heat_cora_noise0_weak21
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.00152, relative residual 4.8e-10)
#   lap(x)                                    1.00013 +- 3.1e-07 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 1.00013*lap(x)
