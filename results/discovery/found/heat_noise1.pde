model heat_noise1
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.168, relative residual 0.00493)
#   lap(x)                                    0.499542 +- 0.00021 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.499542*lap(x)
