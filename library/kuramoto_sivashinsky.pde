# Kuramoto-Sivashinsky equation in two dimensions (Kuramoto 1978; Sivashinsky 1977), the
# integrated form: du/dt = -lap u - lap lap u - |grad u|^2 / 2, spatio-temporal chaos from
# small noise on a periodic square (`--ic noise`). The gradient's components dx(u), dy(u) are
# linear stencils: each is one sparse product into a node temporary before it is squared.
model kuramoto_sivashinsky
domain pos : [0, 32*pi] x [0, 32*pi] periodic
field u : node[d]                     # d independent trajectories
dt(u) = -lap(u) - lap(lap(u)) - (dx(u)^2 + dy(u)^2)/2
