model heat_cora_noise1_weak21
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.0183, relative residual 0.0221)
#   lap(x)                                    1.00025 +- 0.00017 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 1.00025*lap(x)
