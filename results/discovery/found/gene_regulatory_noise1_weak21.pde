model gene_regulatory_noise1_weak21
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.0702, relative residual 0.000153)
#   x                                        -1.00127 +- 0.00074 (kept in 100 % of bootstrap fits)
#   sum_j(x_j^2/(1 + x_j^2))                  1.00061 +- 0.00028 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = -1.00127*x + 1.00061*sum_j(x_j^2/(1 + x_j^2))
