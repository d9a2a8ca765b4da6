# Ablation of grand_ref_exp (issue 17): the three choices of the GRAND reference code together,
# the detached source x(0) (grand_ref_exp_x0), Q, K started at 1e-5 (grand_ref_exp_qk) and the
# squareplus shifted by the maximum score (grand_ref_exp_max). Hyperparameters:
# grand_ref_exp.toml's, inherited.
model grand_ref_exp_all extends grand_ref_exp_x0qk
edge s = sigma^2 * exp(-dot(e, e, heads=h) / (2 * l^2))      # the h scores of edge (i, j)
override edge a = mean_heads(squareplus_i(s - max_ij(s)))
