# Mutualistic interaction dynamics of species abundances (Gao, Barzel & Barabasi, Nature 2016;
# NDCN, Zang & Wang KDD 2020, sec. 4.1):
#   dx_i/dt = b + x_i (1 - x_i/k)(x_i/c - 1) + sum_j A_ij x_i x_j / (d + e x_i + h x_j)
# (migration b, logistic growth with carrying capacity k, Allee threshold c; sum_j runs over the
# edge list, i.e. the unnormalised adjacency A without self-loops).
model ndcn_mutualistic
field x : node
param b = 0.1
param k = 5.0
param c = 1.0
param d = 5.0
param e = 0.9
param h = 0.1
dt(x) = b + x * (1 - x / k) * (x / c - 1) + sum_j(x_i * x_j / (d + e * x_i + h * x_j))
