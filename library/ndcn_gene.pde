# Gene regulatory dynamics (Michaelis-Menten; Gao, Barzel & Barabasi, Nature 2016; NDCN, Zang &
# Wang KDD 2020, sec. 4.1):  dx_i/dt = -b x_i^f + sum_j A_ij x_j^h / (x_j^h + 1)
# (degradation of order f, activation of Hill coefficient h). The exponents are integers here;
# a non-integer exponent needs a base that cannot be negative, e.g. relu(x)^f (the checker says
# so): the flow keeps x >= 0 from a non-negative start.
model ndcn_gene
field x : node
param b = 1.0
param f = 1.0
param h = 2.0
dt(x) = -b * x^f + sum_j(x_j^h / (x_j^h + 1))
