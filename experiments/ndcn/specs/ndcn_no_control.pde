# NDCN ablation "no control" (Zang & Wang 2020, table 1): no learnable W, c in the flow,
# dh/dt = relu(Phi h); only the encoder and decoder learn.
model ndcn_no_control
field h : node[d]
dt(h) = relu(h - sum_j(abar_ij * h_j))
