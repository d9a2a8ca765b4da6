model heat_cora_noise0
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.00767, relative residual 5.28e-07)
#   lap(x)                                    0.999949 +- 1.2e-05 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.999949*lap(x)
