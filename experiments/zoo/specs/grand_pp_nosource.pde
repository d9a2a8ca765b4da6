# Ablation of GRAND++ (library/grand_pp.pde) for the low-label Cora row: the same model, data
# and TOML with the source term on the labelled nodes removed, so the row's difference from
# grand_pp is the source term alone (label_mask stays declared: the task binds it).
model grand_pp_nosource extends grand_pp
override dt(x) = sigmoid(alpha) * div(a * grad(x))
