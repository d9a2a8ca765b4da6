# Continuous Neural Sheaf Diffusion (Bodnar et al., NeurIPS 2022, eq. 8, with the reference's
# LaplacianODEFunc options left_weights, right_weights, use_act and linear = True):
#   dX/dt = elu(-Delta_F (I ⊗ W1) X W2),
# the sheaf built once from X(0) and held fixed during the solve (restriction maps of kind
# general), so Delta_F is assembled once per solve and every evaluation is one block-sparse CSR
# product. Without W1, W2 and elu this is the sheaf heat equation dX/dt = -Delta_F X.
model nsd_general_ode
field x : node[d, k]
dim d = 3
dim k = 16
learn W1 : [d, d]
learn W2 : [k, k]
let x0 = init(x)
edge F = restriction(x0_i, x0_j, kind=general)
param p_drop = 0.0                 # dropout inside the field (the reference's continuous models: none)
dt(x) = elu(sheaf_nlap(F, W1 @ dropout(x, p_drop) @ W2))
