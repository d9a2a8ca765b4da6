# BLEND ablation without positional coordinates: z = x only (same attention and dynamics as
# beltrami.pde, which makes it GRAND-l with squareplus normalisation).
model beltrami_nopos
field x : node[d]
dim k = 64
learn Q_x : [d, k]
learn K_x : [d, k]
learn alpha = 0
learn beta = 0
let x0 = init(x)
edge a = squareplus_j(dot(x0_i @ Q_x, x0_j @ K_x) / sqrt(k))
dt(x) = sigmoid(alpha) * div(a * grad(x)) + beta * x0
