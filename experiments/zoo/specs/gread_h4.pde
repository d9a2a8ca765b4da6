# GREAD-BS with the reference's four attention heads (jeongwhanchoi/GREAD run_GNN.py defaults
# heads = 4, attention_dim = 64: four heads of width 16, each softmax-normalised over N(i), their
# matrices averaged), one diffusion rate per channel as library/gread.pde: the chameleon
# configuration's remaining unreproduced difference (specs/gread_sc_h4.pde is the same with one
# rate, the Wisconsin configuration).
model gread_h4 extends gread
dim h = 4                                # attention heads
override edge a = mean_heads(softmax_j(dot(x0_i @ W_K, x0_j @ W_Q, heads=h) / sqrt(k / h)))
