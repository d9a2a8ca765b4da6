model noaa_found
# found by `pde2gnn discover` from the candidates of 'noaa_candidates' (STLSQ threshold 0.229, relative residual 1)
field x : node[d]
dt(x) = 0*x
