model cd_sampled250_noise0
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.158, relative residual 0.669)
#   q*dx(f)                                   0.39084 +- 0.0062 (kept in 100 % of bootstrap fits)
#   cos(y)*dy(f)                              1.44493 +- 0.49 (kept in 87 % of bootstrap fits)
#   lap(f)                                    0.10254 +- 0.031 (kept in 90 % of bootstrap fits)
#   r*lap(f)                                 -0.0326222 +- 0.01 (kept in 90 % of bootstrap fits)
#   f                                        -6.99719 +- 0.12 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.39084*q*dx(f) + 1.44493*cos(y)*dy(f) + 0.10254*lap(f) - 0.0326222*r*lap(f) - 6.99719*f
