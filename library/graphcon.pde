# GraphCON-GCN (Rusch, Chamberlain, Rowbottom, Mishra, Bronstein, ICML 2022, "Graph-Coupled
# Oscillator Networks", eq. 2-3; tk-rusch/GraphCON src/heterophilic_graphs/models.py):
#   X'' = sigma(F_theta(X)) - gamma X - alpha X',  as the first-order system X' = Y,
#   Y' = sigma(F(X)) - gamma X - alpha Y,
# F the reference's GCN layer with its residual (res_version 2): F(X) = Abar X W - X W + X R + b,
# Abar = D^-1/2 (A + I) D^-1/2 (self_loops = true). The reference integrates it by symplectic
# (IMEX) Euler: Y_{n+1} = Y_n + h G(X_n, Y_n), X_{n+1} = X_n + h Y_{n+1}. The same scheme is
# explicit Euler applied to dX/dt = Y + h G, dY/dt = G (X gets h Y_{n+1} = h Y_n + h^2 G), so
# with method = "euler" and step_size = h (the param h, equal in the TOML) this is its layer.
model graphcon
field x : node[d]
field y : node[d]
learn W : [d, d]                         # the GCN weight (GCNConv.lin)
learn R : [d, d]                         # the residual map (res_version 2)
learn b : [d]                            # the GCN bias
param alpha = 0.0                        # damping
param gamma = 0.0                        # restoring force
param h = 1.0                            # the Euler step (= step_size)
let g = relu(sum_j(abar_ij * x_j) @ W - x @ W + x @ R + b) - gamma * x - alpha * y
dt(x) = y + h * g
dt(y) = g
