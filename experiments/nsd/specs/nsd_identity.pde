# Ablation of Neural Sheaf Diffusion (Bodnar, Di Giovanni, Chamberlain, Liò, Bronstein, NeurIPS
# 2022, eq. 9) without a learned sheaf: identity restriction maps, so Delta_F is the normalised
# graph Laplacian ⊗ I_d. Everything else as library/nsd_diag.pde (explicit Euler with step 1,
# one step per layer, per-layer weights). Hyperparameters: nsd_bundle.toml's (nsd_identity.toml).
model nsd_identity extends nsd_diag
override edge F = restriction(xd_i, xd_j, kind=identity)
