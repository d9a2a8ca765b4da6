# Heat equation with a variable diffusivity in divergence form, df/dt = div(kappa grad f)
# = kappa lap f + grad kappa . grad f, on the unit square with zero-flux (insulated) walls.
# grad kappa is itself a geometric stencil of a static coefficient, so all three terms fuse
# into one sparse matrix whose weights are computed once per graph.
model heat_variable
domain pos : [0, 1] x [0, 1]
field f : node[d]                     # d independent trajectories
param k0 = 0.01                       # background diffusivity (length^2 / time)
let kappa = k0 * (1 + 4*exp(-((x - 0.5)^2 + (y - 0.5)^2) / 0.02))
dt(f) = kappa*lap(f) + dx(kappa)*dx(f) + dy(kappa)*dy(f)
