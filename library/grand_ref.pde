# GRAND-l as the GRAND reference code runs it on Cora (Chamberlain et al., ICML 2021;
# graph-neural-pde, best_params.py: block 'attention', function 'laplacian', scaled dot-product
# attention with 8 heads of width 16 (attention_dim 128), squareplus normalised as its
# attention_norm_idx = 1, mean over heads, add_source, scalar alpha and beta).
# The attention is computed once from x(0) and held fixed: the ODE is linear in x.
model grand_ref
field x : node[d]
dim k = 128                              # query / key width: h heads of k / h
dim h = 8                                # attention heads
learn Q : [d, k]
learn K : [d, k]
learn b_Q : [k]                          # the reference's nn.Linear biases
learn b_K : [k]
learn alpha = 0                          # time scale sigmoid(alpha)
learn beta = 0                           # source term beta * x(0)
let x0 = init(x)
let q = x0 @ Q + b_Q
let kk = x0 @ K + b_K
edge a = mean_heads(squareplus_i(dot(q_i, kk_j, heads=h) / sqrt(k / h)))
dt(x) = sigmoid(alpha) * (sum_j(a * x_j) - x) + beta * x0
