# GRAND-l as the GRAND reference code runs it on CiteSeer (Chamberlain et al., ICML 2021;
# graph-neural-pde, best_params.py['Citeseer']: block 'attention', function 'laplacian',
# attention_type 'exp_kernel' with 8 heads of width 32 / 8 = 4, squareplus normalised as its
# attention_norm_idx = 1, mean over heads, add_source, scalar alpha and beta). The scores are
# Gaussian kernels between the query of i and the key of j (function_transformer_attention.py,
# the non-beltrami exp_kernel branch),
#   s^h_ij = sigma^2 exp(-|q_i - k_j|_h^2 / (2 l^2)),
# q = x Q + c, k = x K (c: the difference of the reference's Linear biases), |.|_h the norm over
# head h's k / h channels. The attention is computed once from x(0) and held fixed: the ODE is
# linear in x.
model grand_ref_exp
field x : node[d]
dim k = 32                               # query / key width: h heads of k / h
dim h = 8                                # attention heads
learn Q : [d, k]
learn K : [d, k]
learn c : [k]                            # the reference's b_Q - b_K
learn l positive = 1                     # length scale (reference: lengthscale, init 1)
learn sigma = 1                          # output scale (reference: output_var, init 1)
learn alpha = 0                          # time scale sigmoid(alpha)
learn beta = 0                           # source term beta * x(0)
let x0 = init(x)
let q = x0 @ Q + c
let kk = x0 @ K
edge e = q_i - kk_j
edge a = mean_heads(squareplus_i(sigma^2 * exp(-dot(e, e, heads=h) / (2 * l^2))))
dt(x) = sigmoid(alpha) * (sum_j(a * x_j) - x) + beta * x0
