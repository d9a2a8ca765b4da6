model cd_sampled250_noise5
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.113, relative residual 0.666)
#   q*dx(f)                                   0.384508 +- 0.0053 (kept in 100 % of bootstrap fits)
#   dy(f)                                     0 +- 0.2 (kept in 3 % of bootstrap fits)
#   cos(y)*dy(f)                              1.66003 +- 0.03 (kept in 100 % of bootstrap fits)
#   sin(x)*dy(f)                              0 +- 0.27 (kept in 7 % of bootstrap fits)
#   q*dy(f)                                   0.158653 +- 0.035 (kept in 100 % of bootstrap fits)
#   r*dy(f)                                   0 +- 0.048 (kept in 3 % of bootstrap fits)
#   lap(f)                                    0.0962592 +- 0.019 (kept in 97 % of bootstrap fits)
#   r*lap(f)                                 -0.0305994 +- 0.006 (kept in 97 % of bootstrap fits)
#   f                                        -7.01405 +- 0.083 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.384508*q*dx(f) + 1.66003*cos(y)*dy(f) + 0.158653*q*dy(f) + 0.0962592*lap(f) - 0.0305994*r*lap(f) - 7.01405*f
