model cd_grid50_noise0
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.025, relative residual 0.00229)
#   dx(f)                                     0.601884 +- 0.00062 (kept in 100 % of bootstrap fits)
#   cos(y)*dx(f)                              0.508023 +- 0.00089 (kept in 100 % of bootstrap fits)
#   q*dx(f)                                   0.497941 +- 0.00016 (kept in 100 % of bootstrap fits)
#   dy(f)                                     0.806876 +- 0.00061 (kept in 100 % of bootstrap fits)
#   cos(y)*dy(f)                              2.00102 +- 0.00075 (kept in 100 % of bootstrap fits)
#   sin(x)*dy(f)                              2.00079 +- 0.00081 (kept in 100 % of bootstrap fits)
#   lap(f)                                    0.499577 +- 0.00019 (kept in 100 % of bootstrap fits)
#   r*lap(f)                                 -0.111952 +- 5.4e-05 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.601884*dx(f) + 0.508023*cos(y)*dx(f) + 0.497941*q*dx(f) + 0.806876*dy(f) + 2.00102*cos(y)*dy(f) + 2.00079*sin(x)*dy(f) + 0.499577*lap(f) - 0.111952*r*lap(f)
