model heat_noise0
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.126, relative residual 1.11e-05)
#   lap(x)                                    0.499563 +- 1.3e-05 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.499563*lap(x)
