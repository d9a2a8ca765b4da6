# Fisher-KPP reaction-diffusion (Fisher 1937; Kolmogorov, Petrovsky & Piskunov 1937):
# df/dt = D lap f + r f (1 - f), travelling fronts of speed 2 sqrt(D r) invading f = 0.
# Zero-flux walls on [0, 10]^2; start from Gaussian bumps (`--ic bumps`).
model fisher
domain pos : [0, 10] x [0, 10]
field f : node[d]                     # d independent trajectories
param D = 0.1                         # diffusivity (length^2 / time)
param r = 1.0                         # growth rate (1 / time)
dt(f) = D*lap(f) + r*f*(1 - f)
