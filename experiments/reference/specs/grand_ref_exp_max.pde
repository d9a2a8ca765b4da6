# Ablation of grand_ref_exp (issue 17): the scores are shifted by their maximum over all edges and
# heads before the squareplus, as the GRAND reference code's squareplus does (graph-neural-pde,
# utils.py squareplus: out = src - src.max(), the max of the whole [edges, heads] tensor, not
# detached). Squareplus is not shift-invariant, so this changes the attention: the shifted scores
# lie in [-max, 0], where sp is flatter (sp(0) = 1, sp'(0) = 1/2). Hyperparameters:
# grand_ref_exp.toml's, inherited.
model grand_ref_exp_max extends grand_ref_exp
edge s = sigma^2 * exp(-dot(e, e, heads=h) / (2 * l^2))      # the h scores of edge (i, j)
override edge a = mean_heads(squareplus_i(s - max_ij(s)))
