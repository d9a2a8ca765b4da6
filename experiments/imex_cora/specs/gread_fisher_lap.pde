# GREAD-style reaction-diffusion (Choi et al., ICML 2023, eq. 9) with the unnormalised graph
# Laplacian and a Fisher reaction, for training through an IMEX solve (issue 35):
#   dH/dt = -kappa sigmoid(alpha) (D - A) H + (H * (1 - H)) Beta
# kappa (a fixed parameter) sets the stiffness: rho(D - A) is about twice the largest degree
# (168 on Cora), so kappa = 8 (the TOML's) makes dopri5 take about 1,500 evaluations per solve
# to T = 1. The diffusion is the linear part L of the split (implicit in ark3 / ark4), the
# reaction the non-linear part N (explicit).
model gread_fisher_lap
field x : node[d]
param kappa = 0.01                       # diffusion scale (1 / time)
learn alpha = 0                          # diffusion rate kappa sigmoid(alpha) (a scalar: the split
                                         # takes per-channel coefficients into N)
learn Beta : [d, d] diag                 # reaction rate, per channel
dt(x) = kappa * sigmoid(alpha) * sum_j(x_j - x_i) + (x * (1 - x)) @ Beta
