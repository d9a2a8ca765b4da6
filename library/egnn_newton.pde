# EGNN's N-body layer as a continuous flow (the EGNO / SEGNO view of EGNN, Satorras et al. 2021
# eq. 7, made a graph ODE): Newton's second law with a learned pairwise force along p_i - p_j,
#   dp/dt = v,   dv/dt = C sum_j (p_i - p_j) phi_x(m_ij),   dh/dt = phi_h([h, sum_j m_ij]),
#   m_ij = relu(phi_e([h_i, h_j, |p_i - p_j|^2, q_i q_j])),
# the charges q carried as a constant field. Integrated over the prediction horizon by the
# `nbody` task (`pde2gnn train egnn_newton --task nbody`, rk4 with --layers steps).
# p and v are node[3] (opt-out): v is a vector, and the language's coords kind holds points only;
# tests/test_equivariance.py checks E(3) equivariance numerically instead.
model egnn_newton
field p : node[3]
field v : node[3]
field q : node[1]
field h : node[c]
dim c = 64
param C = 0.25
net phi_e : mlp(in=2*c+2, out=c, hidden=c)
net phi_x : mlp(in=c, out=1, hidden=c)
net phi_h : mlp(in=2*c, out=c, hidden=c)
edge r = p_i - p_j
edge m = relu(phi_e(cat(h_i, h_j, dot(r, r), q_i * q_j)))
dt(p) = v
dt(v) = C * sum_j(r * phi_x(m))
dt(q) = 0 * q
dt(h) = phi_h(cat(h, sum_j(m)))
