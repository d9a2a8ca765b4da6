model heat_noise5_w15
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.384, relative residual 0.0149)
#   lap(x)                                    0.494603 +- 0.00059 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.494603*lap(x)
