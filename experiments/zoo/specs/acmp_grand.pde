# ACMP (Wang et al., ICLR 2023) in the configuration that the reference's run_GNN.py runs
# (ykiiiiii/ACMP: main() replaces best_params.py by the command line, so its argument defaults
# run: block "constant", data_norm "rw", self_loop_weight 1, function ACMP,
# src/function_laplacian_diffusion_ACMP.py): f = alpha (sum_j (w_ij - beta) x_j - x)
# - delta (x^2 - 1) x with w the random-walk-normalised adjacency with self loops, alpha =
# sigmoid(alpha_train) and delta = sigmoid(delta_train) per channel (ODEFunc's [1, hidden]
# parameters), initialised at init_alpha = 0 and init_delta = -10, beta = 0 (its default).
# Here w = D^-1 (A + I) (mean_j over the graph with self loops), so
# sum_j (w_ij - beta) x_j = mean_j(x) - beta sum_j(x).
model acmp_grand
field x : node[d]
learn alpha : [d] = 0                    # interaction strength sigmoid(alpha), per channel
learn delta : [d] = -10                  # Allen-Cahn strength sigmoid(delta), per channel
param beta = 0                           # repulsion threshold (the reference's default)
dt(x) = sigmoid(alpha) * (mean_j(x_j) - beta * sum_j(x_j) - x) - sigmoid(delta) * (x^2 - 1) * x
