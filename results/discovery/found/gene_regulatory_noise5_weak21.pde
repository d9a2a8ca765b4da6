model gene_regulatory_noise5_weak21
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.127, relative residual 0.0038)
#   x                                        -1.0055 +- 0.0037 (kept in 100 % of bootstrap fits)
#   sum_j(x_j^2/(1 + x_j^2))                  1.0025 +- 0.0014 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = -1.0055*x + 1.0025*sum_j(x_j^2/(1 + x_j^2))
