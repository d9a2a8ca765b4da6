# Mutualistic interaction (Gao, Barzel & Barabasi, Nature 2016; NDCN, Zang & Wang 2020):
# dx_i/dt = b + x_i (1 - x_i/k)(x_i/c - 1) + sum_j A_ij x_i x_j / (d + e x_i + h x_j)
model mutualistic
field x : node[d]
param b = 0.1
param k = 5
param c = 1
param dd = 5
param e = 0.9
param h = 0.1
dt(x) = b + x*(1 - x/k)*(x/c - 1) + sum_j(x_i*x_j/(dd + e*x_i + h*x_j))
