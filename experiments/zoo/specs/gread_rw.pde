# GREAD-BS in the reference's best squirrel configuration (GREAD, Choi et al. ICML 2023;
# jeongwhanchoi/GREAD src/gread_params.py 'squirrel'): block "constant" with data_norm "rw", i.e.
# the fixed random-walk adjacency with self-loops a_ij = 1 / deg_j (GRAND's get_rw_adj, norm_dim
# 1), written as squareplus_i of a zero score (every entry of column j equal, summing to 1 over
# i), one diffusion rate and one reaction rate per channel (alpha_dim, beta_dim "vc", as gread).
# The attention weights W_K, W_Q of gread stay declared and get no gradient.
model gread_rw extends gread
override edge a = squareplus_i(0 * dot(x0_i, x0_j))
