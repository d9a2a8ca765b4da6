# NDCN (Zang & Wang, KDD 2020, "Neural Dynamics on Complex Networks", eq. 9): node states are
# encoded into h(0) = Linear-tanh-Linear(x(0)) (20 dims; `pde2gnn train ... --task dynamics`
# adds the encoder and the Linear(20, 1) decoder), then
#   dh/dt = relu(Phi h W + c),   Phi = I - D^-1/2 A D^-1/2,
# the normalised graph Laplacian: the reference code's default operator (calvin-zcx/ndcn,
# `normalized_laplacian`); W, c are the "control" (its Linear layer, with bias).
model ndcn
field h : node[d]
learn W : [d, d]
learn c : [d]
dt(h) = relu((h - sum_j(abar_ij * h_j)) @ W + c)
