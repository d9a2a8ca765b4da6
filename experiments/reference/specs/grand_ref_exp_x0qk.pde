# Ablation of grand_ref_exp (issue 17): both of the reference's choices at once, the detached
# source x(0) (grand_ref_exp_x0) and Q, K started at the constant 1e-5 (grand_ref_exp_qk).
# Hyperparameters: grand_ref_exp.toml's, inherited.
model grand_ref_exp_x0qk extends grand_ref_exp_x0
override learn Q : [d, k] = 1e-5
override learn K : [d, k] = 1e-5
