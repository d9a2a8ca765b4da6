model gene_regulatory_noise5_w15
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.147, relative residual 0.0342)
#   x                                        -1.00204 +- 0.0042 (kept in 100 % of bootstrap fits)
#   sum_j(x_j^2/(1 + x_j^2))                  1.00087 +- 0.0016 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = -1.00204*x + 1.00087*sum_j(x_j^2/(1 + x_j^2))
