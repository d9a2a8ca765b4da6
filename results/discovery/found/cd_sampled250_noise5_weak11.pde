model cd_sampled250_noise5_weak11
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.124, relative residual 0.625)
#   sin(x)*dx(f)                              0 +- 0.29 (kept in 3 % of bootstrap fits)
#   q*dx(f)                                   0.395272 +- 0.04 (kept in 100 % of bootstrap fits)
#   dy(f)                                     1.14505 +- 0.5 (kept in 77 % of bootstrap fits)
#   cos(y)*dy(f)                              1.68605 +- 0.05 (kept in 100 % of bootstrap fits)
#   sin(x)*dy(f)                              0 +- 0.32 (kept in 10 % of bootstrap fits)
#   q*dy(f)                                   0.196492 +- 0.043 (kept in 100 % of bootstrap fits)
#   r*dy(f)                                  -0.250456 +- 0.12 (kept in 77 % of bootstrap fits)
#   lap(f)                                    0.0914411 +- 0.0053 (kept in 100 % of bootstrap fits)
#   r*lap(f)                                 -0.0274152 +- 0.0019 (kept in 100 % of bootstrap fits)
#   f                                        -4.56311 +- 0.05 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.395272*q*dx(f) + 1.14505*dy(f) + 1.68605*cos(y)*dy(f) + 0.196492*q*dy(f) - 0.250456*r*dy(f) + 0.0914411*lap(f) - 0.0274152*r*lap(f) - 4.56311*f
