model gread_sc_ref extends gread_sc
dim h = 4
override learn W_K : [d, k] = 0.00001
override learn W_Q : [d, k] = 0.00001
learn b_K : [k]
learn b_Q : [k]
let q = x0 @ W_Q + b_Q
let kk = x0 @ W_K + b_K
override edge a = mean_heads(softmax_j(dot(q_i, kk_j, heads=h) / sqrt(k / h)))
