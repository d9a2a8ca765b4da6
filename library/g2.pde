# G^2, gradient gating (Rusch, Chamberlain, Mahoney, Bronstein, Mishra, ICLR 2023, "Gradient
# Gating for Deep Multi-Rate Learning on Graphs", eq. 4-5; tk-rusch/gradientgating):
#   X <- (1 - tau) X + tau sigma(F(X)),   tau_ik = tanh(mean_{j in N(i)} |Xhat_jk - Xhat_ik|^p),
# Xhat = sigma(F(X)) (the reference computes tau from the same layer, use_G2_conv = False),
# F GraphSAGE (the reference's default): F(X) = mean_j(X_j) W + X U + b, sigma = ReLU.
# As a flow, dX/dt = tau (sigma(F(X)) - X): one explicit Euler step of size 1 is one G^2 layer.
# g2_gcn takes a GCN layer for F instead.
model g2
field x : node[d]
learn W : [d, d]                         # neighbour weight (SAGEConv lin_l)
learn U : [d, d]                         # root weight (SAGEConv lin_r)
learn b : [d]
param p = 2.5                            # the gate's exponent (G2_exp)
let fx = relu(mean_j(x_j) @ W + x @ U + b)
let tau = tanh(mean_j(abs(grad(fx))^p))
dt(x) = tau * (fx - x)
