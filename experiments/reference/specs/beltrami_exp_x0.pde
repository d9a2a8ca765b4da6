# Ablation of beltrami_exp (issue 17): the source term uses z(0) detached, as the BLEND reference
# code does (graph-neural-pde, GNN.py calls ODEblock.set_x0, which stores x0.clone().detach(),
# the x0 of beta * x0 in function_laplacian_diffusion.py): beta * z(0) sends no gradient into the
# encoders. The attention is still computed from z(0) with its gradient, and so is the initial
# state. Hyperparameters: beltrami_exp.toml's, inherited.
model beltrami_exp_x0 extends beltrami_exp
override dt(u) = sigmoid(alpha) * (sum_j(a * u_j) - u) + beta * detach(u0)
override dt(x) = sigmoid(alpha) * (sum_j(a * x_j) - x) + beta * detach(x0)
