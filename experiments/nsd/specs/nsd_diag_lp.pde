# Ablation of Diag-NSD (Bodnar et al., NeurIPS 2022, eq. 9; library/nsd_diag.pde) with the
# reference's fixed low-pass coordinate (add_lp=True, the model of its chameleon script): the
# maps are learned on the first d - 1 stalk coordinates and fixed to 1 on the last, which
# diffuses with the plain normalised graph Laplacian. So d here is the reference's d + 1.
model nsd_diag_lp extends nsd_diag
override dim d = 4
override edge F = restriction(xd_i, xd_j, kind=diag, lowpass=true)
