# Heat equation on a graph, combinatorial Laplacian, kappa = 0.5
model heat_rgg
field x : node[d]
param kappa = 0.5
dt(x) = kappa * lap(x)
