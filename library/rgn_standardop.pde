# Baseline of PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 4, "RGN(StandardOP)"): the recurrent
# graph network of padgn_rgn fed with fixed graph operators instead of the learned ones, i.e.
# the difference layer with w1 = w2 = w3 = w4 = 1: gradient f_j - f_i, Laplacian
# sum_j (f_i - f_j).
model rgn_standardop extends rgn
override net msg1 : mlp(in=131, out=64, hidden=64)     # [h1_i, h1_j, p_j - p_i, f_j - f_i]
override net cell1 : gru(in=66, hidden=64)             # [f, sum_j (f_i - f_j), messages]
override let h1n = cell1(cat(f, -lap(f), sum_j(msg1(cat(h1_i, h1_j, rel, grad(f))))), h1)
