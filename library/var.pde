# Baseline of PA-DGN (Seo, Meng & Liu, ICLR 2020, sec. 4, "VAR"): vector autoregression with two
# lags, coefficients shared over nodes, no graph: f(t+1) = f(t) A1 + f(t-1) A2 + b.
# The lag f(t-1) is a hidden state (zero before the first step).
model var
dim c = 1
field f : node[c]
state lag : node[c]                         # f(t-1)
learn A1 : [c, c]
learn A2 : [c, c]
learn b : [c]
next(f) = f @ A1 + lag @ A2 + b
next(lag) = f
