# Baseline of PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 4): the recurrent graph network of
# padgn_rgn without difference features. 2 recurrent GN blocks, hidden 64: message MLP over
# [h_i, h_j, edge features] summed over neighbours, GRU update; node input f, edge input
# p_j - p_i; readout of the increment of f.
model rgn
input pos : node[2]
field f : node[1]
state h1 : node[64]
state h2 : node[64]
net msg1 : mlp(in=130, out=64, hidden=64)     # [h1_i, h1_j, p_j - p_i]
net cell1 : gru(in=65, hidden=64)             # [f, messages]
net msg2 : mlp(in=128, out=64, hidden=64)
net cell2 : gru(in=128, hidden=64)
net readout : mlp(in=64, out=1, hidden=64)
edge rel = pos_j - pos_i
let h1n = cell1(cat(f, sum_j(msg1(cat(h1_i, h1_j, rel)))), h1)
let h2n = cell2(cat(h1n, sum_j(msg2(cat(h2_i, h2_j)))), h2)
next(h1) = h1n
next(h2) = h2n
next(f) = f + readout(h2n)
