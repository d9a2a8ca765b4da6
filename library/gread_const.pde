# GREAD-BS in the reference's best Texas configuration (GREAD, Choi et al. ICML 2023;
# jeongwhanchoi/GREAD src/gread_params.py 'texas'): the original adjacency (block = "constant",
# data_norm = "gcn"), A = D^-1/2 A D^-1/2, i.e. abar_ij, in place of the attention of gread.pde,
# and one diffusion rate sigmoid(alpha) for all channels (alpha_dim = "sc"; gread.pde has one
# per channel, the reference's "vc"). On Texas the scalar alpha is worth 4.6 points over the
# per-channel one (experiments/zoo, ten geom-gcn splits).
model gread_const extends gread
override edge a = abar_ij
override learn alpha = 0                 # one diffusion rate sigmoid(alpha)
