# Baseline of PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 4, "GRU"): a node-wise GRU over the frames
# (hidden 64, no graph) and a node-wise MLP readout of the increment: h(t+1) = GRU(f(t), h(t)),
# f(t+1) = f(t) + MLP(h(t+1)).
model gru_forecast
dim c = 1
field f : node[c]
state h : node[64]
net cell : gru(in=c, hidden=64)
net readout : mlp(in=64, out=c, hidden=64)
let hn = cell(f, h)
next(h) = hn
next(f) = f + readout(hn)
