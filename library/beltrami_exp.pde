# BLEND with the exponential-kernel scores of the reference code: a Gaussian kernel in the keys
# with separate length scales for the positional and the feature part,
#   s_ij = sigma^2 exp(-|K_u u_i - K_u u_j|^2 / (2 l_u^2)) exp(-|K_x x_i - K_x x_j|^2 / (2 l_x^2)),
# normalised with a softmax over N(i); attention frozen at t = 0 (linear ODE).
model beltrami_exp
field u : node[p]
field x : node[d]
dim p = 16
dim k = 64
learn K_u : [p, k]
learn K_x : [d, k]
learn l_u positive = 1                   # positional length scale
learn l_x positive = 1                   # feature length scale
learn sigma = 1                          # output scale
learn alpha = 0
learn beta = 0
let u0 = init(u)
let x0 = init(x)
edge gu = grad(u0 @ K_u)
edge gx = grad(x0 @ K_x)
edge s = sigma^2 * exp(-dot(gu, gu) / (2 * l_u^2)) * exp(-dot(gx, gx) / (2 * l_x^2))
edge a = softmax_j(s)
dt(u) = sigmoid(alpha) * div(a * grad(u)) + beta * u0
dt(x) = sigmoid(alpha) * div(a * grad(x)) + beta * x0
