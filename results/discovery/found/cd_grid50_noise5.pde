model cd_grid50_noise5
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.0522, relative residual 0.0581)
#   dx(f)                                     0.599148 +- 0.0011 (kept in 100 % of bootstrap fits)
#   cos(y)*dx(f)                              0.508496 +- 0.0012 (kept in 100 % of bootstrap fits)
#   q*dx(f)                                   0.496387 +- 0.00023 (kept in 100 % of bootstrap fits)
#   dy(f)                                     0.805726 +- 0.0011 (kept in 100 % of bootstrap fits)
#   cos(y)*dy(f)                              1.99625 +- 0.001 (kept in 100 % of bootstrap fits)
#   sin(x)*dy(f)                              1.9964 +- 0.0011 (kept in 100 % of bootstrap fits)
#   lap(f)                                    0.473226 +- 0.0006 (kept in 100 % of bootstrap fits)
#   r*lap(f)                                 -0.105057 +- 0.00019 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.599148*dx(f) + 0.508496*cos(y)*dx(f) + 0.496387*q*dx(f) + 0.805726*dy(f) + 1.99625*cos(y)*dy(f) + 1.9964*sin(x)*dy(f) + 0.473226*lap(f) - 0.105057*r*lap(f)
