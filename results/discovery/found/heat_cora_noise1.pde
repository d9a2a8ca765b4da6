model heat_cora_noise1
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.013, relative residual 0.612)
#   lap(x)                                    0.999045 +- 0.00038 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = 0.999045*lap(x)
