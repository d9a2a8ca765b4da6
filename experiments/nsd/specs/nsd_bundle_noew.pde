# Ablation of library/nsd_bundle.pde: the same model without the learned edge weights.
model nsd_bundle_noew extends nsd_bundle
override edge F = restriction(xd_i, xd_j, kind=orthogonal)
