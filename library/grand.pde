# GRAND-l (Chamberlain et al., ICML 2021, "GRAND: Graph Neural Diffusion"), eq. (5) with the
# attention of section 3.1 computed once from x(0) and held fixed: a linear ODE whose sparse
# matrix sigmoid(alpha) * (A(x0) - I) is assembled once per solve.
model grand
field x : node[d]
dim k = 64                               # attention (key / query) dimension
learn W_K : [d, k]
learn W_Q : [d, k]
learn alpha = 0                          # time scale sigmoid(alpha), as in the reference code
learn beta = 0                           # source term beta * x(0)
let x0 = init(x)
edge a = softmax_j(dot(x0_i @ W_K, x0_j @ W_Q) / sqrt(k))
dt(x) = sigmoid(alpha) * div(a * grad(x)) + beta * x0
