# Neural Sheaf Diffusion (Bodnar, Di Giovanni, Chamberlain, Liò, Bronstein, NeurIPS 2022, eq. 9),
# diagonal restriction maps with the reference's fixed low-pass coordinate (add_lp=True, the
# model of its chameleon script): the maps are learned on the first d - 1 stalk coordinates and
# fixed to 1 on the last, which diffuses with the plain normalised graph Laplacian. So d here is
# the reference's d + 1. Otherwise as nsd_diag: X_{t+1} = (1 + tanh eps) X_t -
# elu(Delta_F(t) (I ⊗ W1) X_t W2), one explicit Euler step of size 1 per layer, each with its
# own weights (per_layer_weights), the sheaf recomputed from the current state at every layer.
model nsd_diag_lp
field x : node[d, k]
dim d = 4
dim k = 16
learn W1 : [d, d] = eye            # mixes the stalk coordinates (the reference: I at the start)
learn W2 : [k, k] = orthogonal     # mixes the channels (the reference: orthogonal at the start)
learn eps : [d]                    # per stalk coordinate, initialised 0
param p_drop = 0.0                 # dropout inside the layers (the reference's `dropout`)
let xd = dropout(x, p_drop)       # one mask per layer, shared by the maps and the update
edge F = restriction(xd_i, xd_j, kind=diag, lowpass=true)
dt(x) = tanh(eps) * x - elu(-sheaf_nlap(F, W1 @ xd @ W2))
