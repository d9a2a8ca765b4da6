# GRAFF-DD with a standardised update: the configuration of the GRAFF authors' squirrel result
# (Di Giovanni et al. 2022; twitter-research/graff, best_params_dict_L: conv_batch_norm =
# "layerwise", gnl_omega = "zero", source_term = "none"). Omega = 0 and no source, so the
# energy is the pairwise term alone, and the update -var(E, x) = Abar X W is standardised over
# the nodes, channel by channel, before every explicit Euler step:
#   X(t + tau) = X(t) + tau standardize_i(Abar X W).
# The reference's batch-norm layers are kept in a plain list, so they are never trained and
# always use the statistics of the current graph: standardize_i is exactly that operation.
model graff_dd_bn
field x : node[d]
learn W : [d, d] diag_dom                   # W0 symmetric, zero diagonal, + diag(q rowsum|W0| + r)
energy E = -1/2 * sum_ij(abar_ij * dot(x_i, x_j @ W))
dt(x) = standardize_i(-var(E, x))
