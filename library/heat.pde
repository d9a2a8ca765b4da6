# Heat equation on a graph (the diffusion of Kondor & Lafferty, ICML 2002, "Diffusion kernels on
# graphs and other discrete structures"): dx/dt = kappa * (A - D) x, the combinatorial Laplacian.
model heat
field x : node[d]            # evolving state, d channels per node
param kappa = 1.0            # diffusivity
dt(x) = kappa * lap(x)
