# BLEND (Chamberlain et al., NeurIPS 2021, "Beltrami Flow and Neural Diffusion on Graphs"),
# eq. (10) discretised: dz/dt = sigmoid(alpha) (A(z(0)) - I) z + beta z(0), z = [u, x].
#   u : positional coordinates (encoded from a graph positional encoding, e.g. PPR / DIGL)
#   x : features (encoded from the node features)
# The attention sees the joint state: z @ W = u @ W_u + x @ W_x (W acting on the concatenation).
# Shipped variant (the reference code's best for Cora): scaled dot-product scores in h = 8 heads
# of width k / h = 16, squareplus normalised over the edges leaving j (column-normalised,
# attention_norm_idx = 1), the heads' matrices averaged; computed once from z(0) and held fixed
# -> linear ODE, one sparse matrix per solve. Column sums are 1, row sums are not, so the flow is
# written as (A - I) z, not div(a * grad(z)) (the two agree only for row-normalised A).
model beltrami
field u : node[p]
field x : node[d]
dim p = 16                               # positional channels
dim k = 128                              # key / query width: h heads of k / h
dim h = 8                                # attention heads
learn Q_u : [p, k]
learn Q_x : [d, k]
learn K_u : [p, k]
learn K_x : [d, k]
learn alpha = 0                          # time scale sigmoid(alpha)
learn beta = 0                           # source term beta * z(0)
let u0 = init(u)
let x0 = init(x)
let q = u0 @ Q_u + x0 @ Q_x              # queries  [N, k]
let kk = u0 @ K_u + x0 @ K_x             # keys     [N, k]
edge a = mean_heads(squareplus_i(dot(q_i, kk_j, heads=h) / sqrt(k / h)))
dt(u) = sigmoid(alpha) * (sum_j(a * u_j) - u) + beta * u0
dt(x) = sigmoid(alpha) * (sum_j(a * x_j) - x) + beta * x0
