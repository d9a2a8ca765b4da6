# Baseline of PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 4, "StandardOP"): padgn with the spatial
# difference layer's coefficients fixed to 1, i.e. the standard graph gradient
# (grad f)_ij = f_j - f_i and Laplacian sum_j (f_i - f_j) (eq. 3-4 with w = 1), followed by the
# same learned finite-difference update as padgn.
model standardop
input pos : node[2]
field f : node[1]
net update : mlp(in=6, out=1, hidden=64)
edge rel = pos_j - pos_i
edge gradf = grad(f)                         # f_j - f_i
let lapf = -lap(f)                           # sum_j (f_i - f_j)
let dirs = mean_j(cat(gradf * rel[0], gradf * rel[1]))
next(f) = f + update(cat(f, pos, dirs, lapf))
