model gene_regulatory_noise0_weak21
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.00299, relative residual 6.75e-12)
#   x                                        -1.00011 +- 1.1e-06 (kept in 100 % of bootstrap fits)
#   sum_j(x_j^2/(1 + x_j^2))                  1.00012 +- 4.9e-07 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = -1.00011*x + 1.00012*sum_j(x_j^2/(1 + x_j^2))
