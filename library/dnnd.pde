# Embedding-free network dynamics (Liu et al., IJCAI 2023, "Do We Need an Encoder-Decoder to
# Model Dynamical Systems on Networks?"): dx_i/dt = F(x_i) + sum_j A_ij G(x_i, x_j), with F and
# G small MLPs and the unnormalised adjacency (sum_j over the edge list), on x itself.
model dnnd
field x : node
net F : mlp(in=1, out=1, hidden=32)
net G : mlp(in=2, out=1, hidden=32)
dt(x) = F(x) + sum_j(G(cat(x_i, x_j)))
