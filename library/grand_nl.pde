# GRAND-nl (Chamberlain et al. 2021): the attention is recomputed from the current state at
# every function evaluation, so the ODE is non-linear; the sparse matrix is rebuilt per evaluation.
model grand_nl
field x : node[d]
dim k = 64
learn W_K : [d, k]
learn W_Q : [d, k]
learn alpha = 0
learn beta = 0
edge a = softmax_j(dot(x_i @ W_K, x_j @ W_Q) / sqrt(k))
dt(x) = sigmoid(alpha) * div(a * grad(x)) + beta * init(x)
