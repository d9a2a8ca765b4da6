# BLEND-kNN (Chamberlain et al., NeurIPS 2021, section 3.3): beltrami.pde diffusing on the
# k-nearest-neighbour graph of the positional coordinates instead of the input graph. The graph
# is built from the raw positional encoding (--rewire-from pos, default) or from the encoded u(0)
# (--rewire-from u0), once or every --rewire-every K epochs; --knn-k overrides k.
model beltrami_knn
graph knn(u, k=16)
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
