# Gray-Scott reaction-diffusion (Gray & Scott, Chem. Eng. Sci. 38:29, 1983; the pattern study of
# Pearson, "Complex patterns in a simple system", Science 261:189, 1993):
#   du/dt = Du lap u - u v^2 + F (1 - u)
#   dv/dt = Dv lap v + u v^2 - (F + k) v
# u is fed at rate F, v is removed at rate F + k, the reaction U + 2V -> 3V converts u into v.
# Pearson's setting: Du = 2e-5, Dv = 1e-5 (length and time dimensionless), periodic, started
# from u = 1, v = 0 with a perturbed square u = 1/2, v = 1/4 in the middle (examples/
# gray_scott.py). His square is [0, 2.5]^2 on 256 x 256 points; here [0, 1.25]^2, so that
# `--n 128` has his spacing h = 2.5 / 256 (the spots are a few h wide: a coarser grid pins them).
# F and k choose the pattern of his phase diagram (F = 0.035, k = 0.065 here). Two coupled
# fields, d trajectories side by side (`pde2gnn simulate gray_scott --init u=u0.npy --init
# v=v0.npy`).
model gray_scott
domain pos : [0, 1.25] x [0, 1.25] periodic
field u : node[d]                     # substrate
field v : node[d]                     # autocatalyst
param Du = 2e-5                       # diffusivity of u (length^2 / time)
param Dv = 1e-5                       # diffusivity of v
param F = 0.035                       # feed rate (1 / time)
param k = 0.065                       # kill rate (1 / time)
dt(u) = Du*lap(u) - u*v^2 + F*(1 - u)
dt(v) = Dv*lap(v) + u*v^2 - (F + k)*v
