# BLEND ablation without positional coordinates: z = x only (same attention and dynamics as
# beltrami.pde, which makes it GRAND-l with squareplus normalisation).
# Not written as `extends beltrami`: a child cannot remove the parent's field u.
model beltrami_nopos
field x : node[d]
dim k = 128                              # key / query width: h heads of k / h
dim h = 8                                # attention heads
learn Q_x : [d, k]
learn K_x : [d, k]
learn alpha = 0
learn beta = 0
let x0 = init(x)
edge a = mean_heads(squareplus_i(dot(x0_i @ Q_x, x0_j @ K_x, heads=h) / sqrt(k / h)))
dt(x) = sigmoid(alpha) * (sum_j(a * x_j) - x) + beta * x0
