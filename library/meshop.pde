# Baseline of PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 4, "MeshOP"): mesh-based difference
# operators instead of learned ones: area-weighted gradient (d/dx, d/dy) and cotangent Laplacian
# on a Delaunay triangulation of the points (pde2gnn.graphs.delaunay_graph; scheme=mesh), then
# the same kind of learned finite-difference update as padgn: f(t+1) = f(t) + g([f, p, df/dx,
# df/dy, lap f]). The derivatives carry units of 1/h and 1/h^2; they are scaled by the typical
# point spacing h (2 pi / sqrt(250) for PA-DGN's 250 points; --param h=...) so that the regressor
# sees O(f) features, as the graph differences of standardop are (unscaled, the first rollouts
# diverge).
model meshop
domain pos : [0, 2*pi] x [0, 2*pi] scheme=mesh
field f : node[1]
param h = 0.4                                # typical point spacing
net update : mlp(in=6, out=1, hidden=64)
next(f) = f + update(cat(f, pos, h * dx(f), h * dy(f), h^2 * lap(f)))
