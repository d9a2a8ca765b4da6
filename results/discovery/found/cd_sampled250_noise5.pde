model cd_sampled250_noise5
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.226, relative residual 0.713)
#   q*dx(f)                                   0.378345 +- 0.0049 (kept in 100 % of bootstrap fits)
#   lap(f)                                    0.0955421 +- 0.049 (kept in 43 % of bootstrap fits)
#   r*lap(f)                                 -0.0301921 +- 0.015 (kept in 43 % of bootstrap fits)
#   f                                        -7.08306 +- 0.15 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.378345*q*dx(f) + 0.0955421*lap(f) - 0.0301921*r*lap(f) - 7.08306*f
