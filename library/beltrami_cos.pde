# BLEND with cosine-similarity scores s_ij = <q_i, k_j> / (|q_i| |k_j|) over the joint state,
# softmax over N(i); attention frozen at t = 0 (linear ODE).
model beltrami_cos
field u : node[p]
field x : node[d]
dim p = 16
dim k = 64
learn Q_u : [p, k]
learn Q_x : [d, k]
learn K_u : [p, k]
learn K_x : [d, k]
learn alpha = 0
learn beta = 0
let u0 = init(u)
let x0 = init(x)
let q = u0 @ Q_u + x0 @ Q_x
let kk = u0 @ K_u + x0 @ K_x
edge a = softmax_j(dot(q_i, kk_j) / (norm(q_i) * norm(kk_j)))
dt(u) = sigmoid(alpha) * div(a * grad(u)) + beta * u0
dt(x) = sigmoid(alpha) * div(a * grad(x)) + beta * x0
