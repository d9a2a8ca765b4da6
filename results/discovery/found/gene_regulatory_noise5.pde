model gene_regulatory_noise5
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.224, relative residual 0.243)
#   x                                        -0.994485 +- 0.0056 (kept in 100 % of bootstrap fits)
#   sum_j(x_j^2/(1 + x_j^2))                  0.998142 +- 0.0022 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = -0.994485*x + 0.998142*sum_j(x_j^2/(1 + x_j^2))
