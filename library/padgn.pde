# PA-DGN for sparsely-observed dynamics: the synthetic-data model (Seo, Meng & Liu, ICLR 2020,
# "Physics-aware Difference Graph Networks for Sparsely-Observed Dynamics", sec. 3).
# Spatial difference layer (SDL): per-edge coefficients w1..w4 from a graph network over the
# node inputs [f, coordinates] and the edge features p_j - p_i (2 GN blocks, 2-layer MLPs,
# hidden 64), giving the learnable gradient (eq. 3) and Laplacian (eq. 4)
#     (W grad f)_ij = w1_ij (f_j - w2_ij f_i),    (W lap f)_i = sum_j w3_ij (f_i - w4_ij f_j).
# Update: a learned finite-difference scheme f(t+1) = f(t) + g(difference features), g a
# node-wise 2-layer MLP over [f, p, sum_j (W grad f)_ij (p_j - p_i), W lap f] (first- and
# second-order terms; p lets the scheme's coefficients vary in space, as in eq. 12).
model padgn
input pos : node[2]                          # node coordinates [N, 2]
field f : node[1]                            # the observed signal
net coef : edge_gn(in=3, edge_in=2, out=4, hidden=64, blocks=2)
net update : mlp(in=6, out=1, hidden=64)
edge rel = pos_j - pos_i
edge w = coef(cat(f, pos), rel)
edge gradf = w[0] * (f_j - w[1] * f_i)       # (W grad f)_ij, PA-DGN eq. 3
let lapf = sum_j(w[2] * (f_i - w[3] * f_j))  # (W lap f)_i,  PA-DGN eq. 4
let dirs = mean_j(cat(gradf * rel[0], gradf * rel[1]))
next(f) = f + update(cat(f, pos, dirs, lapf))
