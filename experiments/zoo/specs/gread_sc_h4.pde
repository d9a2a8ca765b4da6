# GREAD-BS in the reference's best Wisconsin configuration with its four attention heads
# (jeongwhanchoi/GREAD: block "attention" is GRAND's SpGraphTransAttentionLayer with
# heads = 4 and attention_dim = 64, i.e. four heads of width 16, scores scaled by sqrt(16),
# each head softmax-normalised over N(i), the heads' matrices averaged: function_gread.py's
# attention_weights.mean(dim=1)): specs/gread_sc.pde with h = 4 heads of width k / h.
model gread_sc_h4 extends gread_sc
dim h = 4                                # attention heads
override edge a = mean_heads(softmax_j(dot(x0_i @ W_K, x0_j @ W_Q, heads=h) / sqrt(k / h)))
