# PA-DGN for the weather task (Seo, Meng & Liu, ICLR 2020, sec. 3.2-3.3): the spatial difference
# layer (learned gradient, eq. 3, and Laplacian, eq. 4, with w1..w4 from a graph network over
# [f, coordinates] and p_j - p_i) feeds a recurrent graph network: 2 recurrent GN blocks with
# hidden 64, each a message MLP over [h_i, h_j, edge features] summed over neighbours and a GRU
# update; a node-wise MLP reads the next signal out of the top block (as an increment of f).
# Difference graph: node features [f, W lap f], edge features [p_j - p_i, W grad f].
model padgn_rgn
input pos : node[2]
field f : node[1]
state h1 : node[64]
state h2 : node[64]
net coef : edge_gn(in=3, edge_in=2, out=4, hidden=64, blocks=2)
net msg1 : mlp(in=131, out=64, hidden=64)     # [h1_i, h1_j, p_j - p_i, W grad f]
net cell1 : gru(in=66, hidden=64)             # [f, W lap f, messages]
net msg2 : mlp(in=128, out=64, hidden=64)     # [h2_i, h2_j]
net cell2 : gru(in=128, hidden=64)            # [new h1, messages]
net readout : mlp(in=64, out=1, hidden=64)
edge rel = pos_j - pos_i
edge w = coef(cat(f, pos), rel)
edge gradf = w[0] * (f_j - w[1] * f_i)       # (W grad f)_ij, PA-DGN eq. 3
let lapf = sum_j(w[2] * (f_i - w[3] * f_j))  # (W lap f)_i,  PA-DGN eq. 4
let h1n = cell1(cat(f, lapf, sum_j(msg1(cat(h1_i, h1_j, rel, gradf)))), h1)
let h2n = cell2(cat(h1n, sum_j(msg2(cat(h2_i, h2_j)))), h2)
next(h1) = h1n
next(h2) = h2n
next(f) = f + readout(h2n)
