# EGNN layer with velocities for the N-body task (Satorras, Hoogeboom & Welling, ICML 2021,
# eqs. 3-6 with eq. 7; the reference's E_GCL_vel), one `next` step = one layer:
#   m_ij  = relu(phi_e(h_i, h_j, |p_i - p_j|^2, q_i q_j))        (edge attribute: charge product)
#   v_i'  = phi_v(h_i) v_i(0) + C sum_j (p_i - p_j) phi_x(m_ij)  (eq. 7)
#   p_i'  = p_i + v_i'
#   h_i'  = h_i + phi_h(h_i, sum_j m_ij)                        (residual, as the reference)
# The initial velocity v0 and the charges q are constant hidden states (so that every
# trajectory of a batch has its own). Hidden states must be node[...] and the language has no
# vector-valued kind, so v0 cannot be a checked coordinate: p and v0 are declared node[3] (the
# opt-out) and tests/test_equivariance.py checks this spec's E(n) equivariance numerically. The
# paper's MLPs use SiLU; `mlp` nets use ReLU. C = 1 / (M - 1) for M = 5 particles.
model egnn_vel
field p : node[3]
state v0 : node[3]
state q : node[1]
state h : node[c]
dim c = 64
param C = 0.25
net phi_e : mlp(in=2*c+2, out=c, hidden=c)
net phi_x : mlp(in=c, out=1, hidden=c)
net phi_v : mlp(in=c, out=1, hidden=c)
net phi_h : mlp(in=2*c, out=c, hidden=c)
edge r = p_i - p_j
edge m = relu(phi_e(cat(h_i, h_j, dot(r, r), q_i * q_j)))
next(p) = p + phi_v(h) * v0 + C * sum_j(r * phi_x(m))
next(v0) = v0
next(q) = q
next(h) = h + phi_h(cat(h, sum_j(m)))
