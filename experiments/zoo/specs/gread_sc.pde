# GREAD-BS in the reference's best Wisconsin configuration (GREAD, Choi et al. ICML 2023;
# jeongwhanchoi/GREAD src/gread_params.py 'wisconsin': block = "attention", alpha_dim = "sc"):
# library/gread.pde (attention, one head here) with one diffusion rate sigmoid(alpha) for all
# channels instead of one per channel, as library/gread_const.pde does for Texas.
model gread_sc extends gread
override learn alpha = 0                 # one diffusion rate sigmoid(alpha)
