# Ablation of grand_ref_exp (issue 17): the query and key matrices start at the constant 1e-5, as
# the GRAND reference code initialises them (graph-neural-pde, function_transformer_attention.py,
# SpGraphTransAttentionLayer.init_weights: nn.init.constant_(m.weight, 1e-5) on Q, K and V; the
# Linear biases are left at torch's default). Here c (the biases' difference) keeps its zero
# start: with Q = K every score starts equal within a head either way, so the initial
# attention is the same. Hyperparameters: grand_ref_exp.toml's, inherited.
model grand_ref_exp_qk extends grand_ref_exp
override learn Q : [d, k] = 1e-5
override learn K : [d, k] = 1e-5
