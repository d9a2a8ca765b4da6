model cd_grid50_noise1
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.025, relative residual 0.00464)
#   dx(f)                                     0.601548 +- 0.00066 (kept in 100 % of bootstrap fits)
#   cos(y)*dx(f)                              0.508275 +- 0.00084 (kept in 100 % of bootstrap fits)
#   q*dx(f)                                   0.497862 +- 0.00017 (kept in 100 % of bootstrap fits)
#   dy(f)                                     0.806771 +- 0.00066 (kept in 100 % of bootstrap fits)
#   cos(y)*dy(f)                              2.00069 +- 0.00075 (kept in 100 % of bootstrap fits)
#   sin(x)*dy(f)                              2.00069 +- 0.00081 (kept in 100 % of bootstrap fits)
#   lap(f)                                    0.498528 +- 0.00018 (kept in 100 % of bootstrap fits)
#   r*lap(f)                                 -0.111679 +- 5.6e-05 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.601548*dx(f) + 0.508275*cos(y)*dx(f) + 0.497862*q*dx(f) + 0.806771*dy(f) + 2.00069*cos(y)*dy(f) + 2.00069*sin(x)*dy(f) + 0.498528*lap(f) - 0.111679*r*lap(f)
