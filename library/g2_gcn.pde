# G^2-GCN (Rusch et al., ICLR 2023): g2.pde with a GCN layer, F(X) = Abar X W + b
# (Abar = D^-1/2 (A + I) D^-1/2 with self_loops = true).
model g2_gcn extends g2
override let fx = relu(sum_j(abar_ij * x_j) @ W + b)
