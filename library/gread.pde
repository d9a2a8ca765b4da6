# GREAD-BS (Choi, Hong, Park, Cho, ICML 2023, "GREAD: Graph Neural Reaction-Diffusion Networks",
# eq. 9 and 14; jeongwhanchoi/GREAD src/function_gread.py): the reaction-diffusion flow
#   dH/dt = -alpha L H + beta r(H),   L = I - A,   r(H) = (A - A^2) H   (blurring-sharpening),
# alpha = sigmoid(alpha_train) per channel, beta a diagonal matrix (the reference's beta_diag:
# reaction @ diag(b)). A is the "soft adjacency": attention from H(0), row-normalised by a
# softmax over N(i) and held fixed during the solve (the reference's attention block, here one
# head of scaled dot products). Variants (extends): gread_f (Fisher), gread_ac (Allen-Cahn),
# gread_z (Zeldovich) replace r; gread_const uses the GCN-normalised adjacency instead.
model gread
field x : node[d]
dim k = 64                               # attention (key / query) dimension
learn W_K : [d, k]
learn W_Q : [d, k]
learn alpha : [d]                        # diffusion rate sigmoid(alpha), per channel
learn Beta : [d, d] diag                 # reaction rate, per channel (beta_diag)
let x0 = init(x)
edge a = softmax_j(dot(x0_i @ W_K, x0_j @ W_Q) / sqrt(k))
let ax = sum_j(a * x_j)                  # A H
let r = ax - sum_j(a * ax_j)             # (A - A^2) H
dt(x) = sigmoid(alpha) * (ax - x) + r @ Beta
