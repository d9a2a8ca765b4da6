# Ablation (issue 39): GREAD-BS on the GCN-normalised adjacency with one alpha per channel
# (gread_const_vc.pde, beside this file), with the
# reaction rates initialised to beta = 1 on every channel instead of the default uniform
# +-1/sqrt(d) of a matrix learnable; the reference initialises its diagonal beta uniformly in
# [-1, 1] (function_gread.py reset_parameters), so its reaction term starts O(1).
model gread_const_beta1 extends gread_const_vc
override learn Beta : [d, d] diag = 1
