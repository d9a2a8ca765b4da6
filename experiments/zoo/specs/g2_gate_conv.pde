# G^2-GraphSAGE with its own layer for the gate: the reference's use_G2_conv = True (the
# default of its G2_GNN class; its runner's --use_G2_conv defaults to False, library/g2.pde):
#   tau_ik = tanh(mean_j |Ghat_jk - Ghat_ik|^p),  Ghat = relu(mean_j(X_j) W_g + X U_g + b_g),
# a second GraphSAGE layer with its own weights, where g2.pde takes the gate from F itself.
model g2_gate_conv extends g2
learn W_g : [d, d]
learn U_g : [d, d]
learn b_g : [d]
override let tau = tanh(mean_j(abs(grad(relu(mean_j(x_j) @ W_g + x @ U_g + b_g)))^p))
