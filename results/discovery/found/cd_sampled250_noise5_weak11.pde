model cd_sampled250_noise5_weak11
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.163, relative residual 0.634)
#   q*dx(f)                                   0.394639 +- 0.0052 (kept in 100 % of bootstrap fits)
#   dy(f)                                     0 +- 0.51 (kept in 20 % of bootstrap fits)
#   cos(y)*dy(f)                              1.7733 +- 0.039 (kept in 100 % of bootstrap fits)
#   q*dy(f)                                   0.187043 +- 0.0046 (kept in 100 % of bootstrap fits)
#   r*dy(f)                                   0 +- 0.12 (kept in 20 % of bootstrap fits)
#   lap(f)                                    0.0933363 +- 0.0051 (kept in 100 % of bootstrap fits)
#   r*lap(f)                                 -0.0282088 +- 0.0019 (kept in 100 % of bootstrap fits)
#   f                                        -4.57137 +- 0.046 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.394639*q*dx(f) + 1.7733*cos(y)*dy(f) + 0.187043*q*dy(f) + 0.0933363*lap(f) - 0.0282088*r*lap(f) - 4.57137*f
