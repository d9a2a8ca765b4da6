model cd_sampled250_noise0
# found by `pde2gnn discover` from the candidates of 'cd_candidates' (STLSQ threshold 0.115, relative residual 0.652)
#   q*dx(f)                                   0.386021 +- 0.0053 (kept in 100 % of bootstrap fits)
#   dy(f)                                     0 +- 0.28 (kept in 7 % of bootstrap fits)
#   cos(y)*dy(f)                              1.66216 +- 0.03 (kept in 100 % of bootstrap fits)
#   sin(x)*dy(f)                              0 +- 0.27 (kept in 7 % of bootstrap fits)
#   q*dy(f)                                   0.158328 +- 0.035 (kept in 100 % of bootstrap fits)
#   r*dy(f)                                   0 +- 0.066 (kept in 7 % of bootstrap fits)
#   lap(f)                                    0.0981642 +- 0.019 (kept in 97 % of bootstrap fits)
#   r*lap(f)                                 -0.0311603 +- 0.0061 (kept in 97 % of bootstrap fits)
#   f                                        -7.01421 +- 0.083 (kept in 100 % of bootstrap fits)
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = 0.386021*q*dx(f) + 1.66216*cos(y)*dy(f) + 0.158328*q*dy(f) + 0.0981642*lap(f) - 0.0311603*r*lap(f) - 7.01421*f
