# Baseline of PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 4, "MLP"): a node-wise 2-layer MLP on the
# current frame, no graph: f(t+1) = f(t) + MLP(f(t)).
model mlp_forecast
dim c = 1
field f : node[c]
net g : mlp(in=c, out=c, hidden=64)
next(f) = f + g(f)
