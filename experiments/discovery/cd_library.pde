# Candidates for PA-DGN's convection-diffusion (library/convection_diffusion.pde) with the
# geometric stencils: each operator dx, dy, lap times the coefficient functions that make up
# a, b, c (1, cos(y), sin(x), x(2pi - x) sin(x), r) and two distractors (cos(x), sin(y)), plus
# reaction terms f, f^2. The truth, expanded:
#   0.6 dx + 0.5 cos(y) dx + 0.5 x(2pi-x) sin(x) dx + 0.8 dy + 2 cos(y) dy + 2 sin(x) dy
#   + 0.5 lap - 0.5/(sqrt(2) pi) r lap            (8 of the 23 terms)
model cd_candidates
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let q = x*(2*pi - x)*sin(x)
dt(f) = (dx(f) + cos(y)*dx(f) + sin(x)*dx(f) + q*dx(f) + r*dx(f) + cos(x)*dx(f) + sin(y)*dx(f)
         + dy(f) + cos(y)*dy(f) + sin(x)*dy(f) + q*dy(f) + r*dy(f) + cos(x)*dy(f) + sin(y)*dy(f)
         + lap(f) + cos(y)*lap(f) + sin(x)*lap(f) + q*lap(f) + r*lap(f) + cos(x)*lap(f)
         + sin(y)*lap(f)
         + f + f^2)
