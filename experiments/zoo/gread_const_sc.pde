# Ablation (issue 39): GREAD-BS on the GCN-normalised adjacency with one diffusion rate alpha for
# all channels, as the reference's Texas configuration (alpha_dim = "sc"); library/gread.pde has
# one per channel.
model gread_const_sc extends gread_const
override learn alpha = 0
