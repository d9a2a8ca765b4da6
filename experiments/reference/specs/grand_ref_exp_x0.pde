# Ablation of grand_ref_exp (issue 17): the source term uses x(0) detached, as the GRAND reference
# code does (graph-neural-pde, base_classes.py, ODEblock.set_x0: x0.clone().detach(), the x0 of
# beta * x0 in function_laplacian_diffusion.py): beta * x(0) sends no gradient into the encoder.
# The attention is still computed from x(0) with its gradient (block_transformer_attention.py
# builds it from the undetached encoder output), and so is the initial state. Hyperparameters:
# grand_ref_exp.toml's, inherited.
model grand_ref_exp_x0 extends grand_ref_exp
override dt(x) = sigmoid(alpha) * (sum_j(a * x_j) - x) + beta * detach(x0)
