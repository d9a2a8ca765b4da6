# ACMP (Wang, Yi, Liu, Wang, Jin, ICLR 2023, "ACMP: Allen-Cahn Message Passing with Attractive
# and Repulsive Forces for Graph Neural Networks", eq. 7-8; ykiiiiii/ACMP):
#   dx_i/dt = alpha * sum_j (a_ij - beta) (x_j - x_i) + delta * x_i (1 - x_i^2),
# attention a_ij from x(0) (softmax over N(i), held fixed, as GRAND's), beta >= 0 the repulsion
# (a_ij < beta: the two nodes repel), alpha = sigmoid(alpha_train) and delta =
# sigmoid(delta_train) per channel. Written as in the paper: the reference code's
# spmm(a - beta, x) - x equals this only when beta = 0.
model acmp
field x : node[d]
dim k = 64
learn W_K : [d, k]
learn W_Q : [d, k]
learn alpha : [d]                        # interaction strength sigmoid(alpha)
learn delta : [d]                        # Allen-Cahn strength sigmoid(delta)
param beta = 0.5                         # repulsion threshold
let x0 = init(x)
edge a = softmax_j(dot(x0_i @ W_K, x0_j @ W_Q) / sqrt(k))
dt(x) = sigmoid(alpha) * div((a - beta) * grad(x)) + sigmoid(delta) * x * (1 - x^2)
