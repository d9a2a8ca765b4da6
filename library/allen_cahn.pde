# Allen-Cahn phase separation (Allen & Cahn 1979): df/dt = eps^2 lap f + f - f^3, the L2
# gradient flow of the Ginzburg-Landau energy; from white noise, domains of f = +-1 form and
# coarsen. Periodic square [0, 2pi]^2 (`--ic noise`).
model allen_cahn
domain pos : [0, 2*pi] x [0, 2*pi] periodic
field f : node[d]                     # d independent trajectories
param eps = 0.1                       # interface width (length)
dt(f) = eps^2*lap(f) + f - f^3
