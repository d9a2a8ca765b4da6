# GRAND-nl (Chamberlain et al. 2021): grand.pde with the attention recomputed from the current
# state at every function evaluation, so the ODE is non-linear; the sparse matrix is rebuilt per
# evaluation.
model grand_nl extends grand
override edge a = softmax_j(dot(x_i @ W_K, x_j @ W_Q) / sqrt(k))
