# EGNN layer (Satorras, Hoogeboom & Welling, ICML 2021, eqs. 3-6), discrete form: one `next`
# step is one layer,
#   m_ij  = phi_e(h_i, h_j, |p_i - p_j|^2)                 (eq. 3)
#   p_i'  = p_i + C sum_j (p_i - p_j) phi_x(m_ij)           (eq. 4)
#   m_i   = sum_j m_ij                                      (eq. 5)
#   h_i'  = phi_h(h_i, m_i)                                 (eq. 6)
# p is a coords field (the checker enforces E(n) equivariance), h the node features, carried as
# a hidden state (Stepper: pass the embedded features as hidden; init_hidden gives zeros).
# The paper takes C = 1 / (M - 1) for M nodes; set it with params={'C': ...}. A stack of L layers
# with separate weights is L compiled steppers. library/egnn_ode.pde is the same layer in
# continuous time (one explicit Euler step of unit size of it differs from this layer only by
# dh/dt = phi_h - h, i.e. h' = phi_h(h, m)).
model egnn
field p : coords[3]
state h : node[c]
dim c = 8
param C = 0.2
net phi_e : mlp(in=2*c+1, out=c, hidden=32)
net phi_x : mlp(in=c, out=1, hidden=32)
net phi_h : mlp(in=2*c, out=c, hidden=32)
edge r = p_i - p_j
edge m = phi_e(cat(h_i, h_j, dot(r, r)))
next(p) = p + C * sum_j(r * phi_x(m))
next(h) = phi_h(cat(h, sum_j(m)))
