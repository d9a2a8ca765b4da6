# Gene regulatory dynamics (Michaelis-Menten; Gao, Barzel & Barabasi 2016; NDCN):
# dx_i/dt = -b x_i^f + sum_j A_ij x_j^h / (x_j^h + 1), b = 1, f = 1, h = 2
model gene_regulatory
field x : node[d]
param b = 1
param f = 1
param h = 2
dt(x) = -b*x^f + sum_j(x_j^h/(x_j^h + 1))
