model gene_regulatory_noise0
# found by `pde2gnn discover` from the candidates of 'candidates' (STLSQ threshold 0.0863, relative residual 2.5e-06)
#   x                                        -0.999554 +- 2.1e-05 (kept in 100 % of bootstrap fits)
#   sum_j(x_j^2/(1 + x_j^2))                  0.999778 +- 1e-05 (kept in 100 % of bootstrap fits)
field x : node[d]
dt(x) = -0.999554*x + 0.999778*sum_j(x_j^2/(1 + x_j^2))
