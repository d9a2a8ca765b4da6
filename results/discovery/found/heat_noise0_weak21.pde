model heat_noise0_weak21
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.0213, relative residual 3.23e-08)
#   lap(x)                                    0.500119 +- 1.4e-06 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.500119*lap(x)
