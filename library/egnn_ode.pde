# EGNN as a graph ODE (Satorras et al., ICML 2021, eqs. 3-6, in continuous time as in EGNO / SEGNO):
#   dp_i/dt = C sum_j (p_i - p_j) phi_x(m_ij),  dh_i/dt = phi_h(h_i, sum_j m_ij) - h_i,
#   m_ij = phi_e(h_i, h_j, |p_i - p_j|^2). p is a coords field: the checker enforces E(n) equivariance.
model egnn_ode
field p : coords[3]
field h : node[c]
dim c = 8
param C = 0.2
net phi_e : mlp(in=2*c+1, out=c, hidden=32)
net phi_x : mlp(in=c, out=1, hidden=32)
net phi_h : mlp(in=2*c, out=c, hidden=32)
edge r = p_i - p_j
edge m = phi_e(cat(h_i, h_j, dot(r, r)))
dt(p) = C * sum_j(r * phi_x(m))
dt(h) = phi_h(cat(h, sum_j(m))) - h
