# NDCN ablation "no control" (Zang & Wang 2020, table 1): no learnable W, c in the flow,
# dh/dt = relu(Phi h); only the encoder and decoder learn.
# Not written as `extends ndcn`: a child cannot remove the parent's learnables W and c, which
# would stay in the model unused.
model ndcn_no_control
field h : node[d]
dt(h) = relu(h - sum_j(abar_ij * h_j))
