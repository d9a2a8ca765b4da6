# Baseline of PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 4, "RGN(StandardOP)"): the recurrent
# graph network of padgn_rgn fed with fixed graph operators instead of the learned ones, i.e.
# the difference layer with w1 = w2 = w3 = w4 = 1: gradient f_j - f_i, Laplacian
# sum_j (f_i - f_j).
model rgn_standardop
input pos : node[2]
field f : node[1]
state h1 : node[64]
state h2 : node[64]
net msg1 : mlp(in=131, out=64, hidden=64)     # [h1_i, h1_j, p_j - p_i, f_j - f_i]
net cell1 : gru(in=66, hidden=64)             # [f, sum_j (f_i - f_j), messages]
net msg2 : mlp(in=128, out=64, hidden=64)
net cell2 : gru(in=128, hidden=64)
net readout : mlp(in=64, out=1, hidden=64)
edge rel = pos_j - pos_i
let h1n = cell1(cat(f, -lap(f), sum_j(msg1(cat(h1_i, h1_j, rel, grad(f))))), h1)
let h2n = cell2(cat(h1n, sum_j(msg2(cat(h2_i, h2_j)))), h2)
next(h1) = h1n
next(h2) = h2n
next(f) = f + readout(h2n)
