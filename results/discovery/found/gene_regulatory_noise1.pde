model gene_regulatory_noise1
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.0813, relative residual 0.0127)
#   x                                        -0.99881 +- 0.0011 (kept in 100 % of bootstrap fits)
#   sum_j(x_j^2/(1 + x_j^2))                  0.999547 +- 0.00043 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = -0.99881*x + 0.999547*sum_j(x_j^2/(1 + x_j^2))
