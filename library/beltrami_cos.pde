# BLEND with the cosine-similarity scores of the reference code (graph-neural-pde,
# attention_type = "cosine_sim"; its best PubMed variant): per head h,
#   s^h_ij = <q_i, k_j>_h / (|q_i|_h |k_j|_h),  q = z W_Q + c_q, k = z W_K + c_k, z = [u, x],
# with <.,.>_h, |.|_h over head h's k / h channels (c_q, c_k: the reference's Linear biases).
# Squareplus normalised over N(i) (row-normalised, attention_norm_idx = 0), the heads' matrices
# averaged; computed once from z(0) and held fixed -> linear ODE, one sparse matrix per solve.
# The 1e-10 under the square root keeps the score finite for a zero query or key.
model beltrami_cos
field u : node[p]
field x : node[d]
dim p = 16                               # positional channels
dim k = 16                               # query / key width: h heads of k / h
dim h = 1                                # attention heads
learn Q_u : [p, k]
learn Q_x : [d, k]
learn K_u : [p, k]
learn K_x : [d, k]
learn c_q : [k]
learn c_k : [k]
learn alpha = 0                          # time scale sigmoid(alpha)
learn beta = 0                           # source term beta * z(0)
let u0 = init(u)
let x0 = init(x)
let q = u0 @ Q_u + x0 @ Q_x + c_q        # queries  [N, k]
let kk = u0 @ K_u + x0 @ K_x + c_k       # keys     [N, k]
edge s = dot(q_i, kk_j, heads=h) / sqrt(dot(q_i, q_i, heads=h) * dot(kk_j, kk_j, heads=h) + 1e-10)
edge a = mean_heads(squareplus_j(s))
dt(u) = sigmoid(alpha) * (sum_j(a * u_j) - u) + beta * u0
dt(x) = sigmoid(alpha) * (sum_j(a * x_j) - x) + beta * x0
