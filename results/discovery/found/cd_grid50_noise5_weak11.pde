model cd_grid50_noise5_weak11
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.0605, relative residual 0.0241)
#   dx(f)                                     0.60016 +- 0.00049 (kept in 100 % of bootstrap fits)
#   cos(y)*dx(f)                              0.501162 +- 0.00059 (kept in 100 % of bootstrap fits)
#   q*dx(f)                                   0.499366 +- 0.0001 (kept in 100 % of bootstrap fits)
#   dy(f)                                     0.802674 +- 0.00045 (kept in 100 % of bootstrap fits)
#   cos(y)*dy(f)                              2.00118 +- 0.00069 (kept in 100 % of bootstrap fits)
#   sin(x)*dy(f)                              1.99902 +- 0.00079 (kept in 100 % of bootstrap fits)
#   lap(f)                                    0.458032 +- 0.00078 (kept in 100 % of bootstrap fits)
#   r*lap(f)                                 -0.100963 +- 0.00025 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.60016*dx(f) + 0.501162*cos(y)*dx(f) + 0.499366*q*dx(f) + 0.802674*dy(f) + 2.00118*cos(y)*dy(f) + 1.99902*sin(x)*dy(f) + 0.458032*lap(f) - 0.100963*r*lap(f)
