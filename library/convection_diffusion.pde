# Convection-diffusion with variable coefficients (PA-DGN, Seo, Meng & Liu, ICLR 2020, appendix
# A.1, eq. (12)): the synthetic data of PA-DGN, on [0, 2pi]^2 with periodic boundaries.
# f has d channels: d independent trajectories simulated side by side in one state.
# On a regular grid the geometric stencils are PA-DGN's central differences (eq. 7); on
# scattered points least squares. `pde2gnn simulate convection_diffusion` makes the data set.
model convection_diffusion
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]
let r = sqrt((x - pi)^2 + (y - pi)^2)
let a = 0.5*(cos(y) + x*(2*pi - x)*sin(x)) + 0.6
let b = 2*(cos(y) + sin(x)) + 0.8
let c = 0.5*(1 - r/(sqrt(2)*pi))
dt(f) = a*dx(f) + b*dy(f) + c*lap(f)
