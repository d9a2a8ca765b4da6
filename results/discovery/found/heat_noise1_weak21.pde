model heat_noise1_weak21
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.17, relative residual 0.000443)
#   lap(x)                                    0.500311 +- 9.7e-05 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.500311*lap(x)
