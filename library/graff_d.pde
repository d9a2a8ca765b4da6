# GRAFF (Di Giovanni, Rowbottom, Chamberlain, Markovich, Bronstein 2022, "Understanding convolution
# on graphs via energies"), eq. (5)-(6): the gradient flow of a parametric energy
#   E(X) = 1/2 sum_i <x_i, Omega x_i> - 1/2 sum_ij abar_ij <x_i, W x_j>,  abar = D^-1/2 A D^-1/2,
# plus a source term beta X(0). The compiler derives dX/dt = -X Omega + Abar X W + beta X(0);
# integrated with explicit Euler (shared weights across steps), this is GRAFF's layer update.
# GRAFF-D: W diagonal (one interaction strength per channel).
model graff_d
field x : node[d]
learn Omega : [d, d] diag                # external field (channel-wise)
learn W : [d, d] diag                    # pairwise channel interaction
learn beta = 0                           # source term
energy E = 1/2 * sum_i(dot(x_i, x_i @ Omega)) - 1/2 * sum_ij(abar_ij * dot(x_i, x_j @ W))
dt(x) = -var(E, x) + beta * init(x)
