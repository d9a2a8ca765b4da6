# Baseline of PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 4, "MeshOP"): mesh-based difference
# operators instead of learned ones: area-weighted gradient (d/dx, d/dy) and cotangent Laplacian
# on a Delaunay triangulation of the points (pde2gnn.graphs.delaunay_graph; scheme=mesh), then
# the same kind of learned finite-difference update as padgn: f(t+1) = f(t) + g([f, p, df/dx,
# df/dy, lap f]).
model meshop
domain pos : [0, 2*pi] x [0, 2*pi] scheme=mesh
field f : node[1]
net update : mlp(in=6, out=1, hidden=64)
next(f) = f + update(cat(f, pos, dx(f), dy(f), lap(f)))
