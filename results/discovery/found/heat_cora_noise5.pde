model heat_cora_noise5
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.0103, relative residual 0.975)
#   lap(x)                                    0.994159 +- 0.0019 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.994159*lap(x)
