# Ablation (issue 39): library/gread_const.pde with one diffusion rate per channel (the
# reference's alpha_dim = "vc", as library/gread.pde) instead of the scalar alpha of the
# reference's Texas configuration.
model gread_const_vc extends gread_const
override learn alpha : [d]
