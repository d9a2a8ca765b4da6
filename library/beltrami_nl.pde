# BLEND, non-linear variant: the attention A(z(t)) is recomputed from the current state at every
# function evaluation (Chamberlain et al. 2021, eq. (10) as written), so the ODE is non-linear
# and its sparse matrix is rebuilt per evaluation. Scores and normalisation as in beltrami.pde.
model beltrami_nl
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
let q = u @ Q_u + x @ Q_x
let kk = u @ K_u + x @ K_x
edge a = squareplus_j(dot(q_i, kk_j) / sqrt(k))
dt(u) = sigmoid(alpha) * div(a * grad(u)) + beta * init(u)
dt(x) = sigmoid(alpha) * div(a * grad(x)) + beta * init(x)
