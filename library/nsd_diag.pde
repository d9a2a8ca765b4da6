# Neural Sheaf Diffusion (Bodnar, Di Giovanni, Chamberlain, Liò, Bronstein, NeurIPS 2022, eq. 9),
# diagonal restriction maps (Diag-NSD).
# Discrete layer:  X_{t+1} = (1 + tanh eps) X_t - elu(Delta_F(t) (I ⊗ W1) X_t W2),
# X in R^{N d x k} (a d-dimensional stalk with k channels per node), Delta_F the normalised sheaf
# Laplacian (D + I)^-1/2 L_F (D + I)^-1/2, restriction maps F_ij = Phi([x_i, x_j]) recomputed from
# the current state at every layer (the reference's default, non-linear NSD). Written as the
# vector field below and integrated by explicit Euler with step 1 (library/nsd_diag.toml), one
# Euler step is exactly one layer; per_layer_weights (the TOML's default) gives every layer its
# own W1, W2, eps and restriction network, as the reference. sheaf_nlap(F, u) = -Delta_F u, so -elu(-sheaf_nlap(...)) = -elu(Delta_F u).
model nsd_diag
field x : node[d, k]
dim d = 3
dim k = 16
learn W1 : [d, d] = eye            # mixes the stalk coordinates (the reference: I at the start)
learn W2 : [k, k] = orthogonal     # mixes the channels (the reference: orthogonal at the start)
learn eps : [d]                    # per stalk coordinate, initialised 0
param p_drop = 0.0                 # dropout inside the layers (the reference's `dropout`)
let xd = dropout(x, p_drop)       # one mask per layer, shared by the maps and the update
edge F = restriction(xd_i, xd_j, kind=diag)
dt(x) = tanh(eps) * x - elu(-sheaf_nlap(F, W1 @ xd @ W2))
