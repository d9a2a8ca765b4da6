# Charged particles (the EGNN N-body benchmark's physics: Satorras, Hoogeboom & Welling, ICML
# 2021, sec. 5.1, after Kipf et al. 2018's ChargedParticlesSim): unit masses, charges q_i = +-1,
# Coulomb-like forces on the complete graph, interaction strength k = 1,
#   dp_i/dt = v_i,   dv_i/dt = k sum_{j != i} q_i q_j (p_i - p_j) / |p_i - p_j|^3
# (like charges repel: q_i q_j = +1 pushes i away from j). The language has no vector-valued
# (velocity) field kind, so the velocity is carried as the point u = p + v (where a particle
# would be one time unit ahead at its current velocity): v = u - p is then a vector and
#   dp/dt = u - p,   du/dt = dp/dt + dv/dt,
# which the E(n) checker accepts. Simulate it with
#   pde2gnn simulate nbody_charged --graph complete --nodes 5 --ic charged ...
# (see docs/guide/equivariance.md). The reference clips every force component to
# +-100 (0.1 / dt); this spec does not (component-wise clipping is not rotation equivariant).
model nbody_charged
field p : coords[3]
field u : coords[3]
input q : node[1]
param k = 1.0
edge r = p_i - p_j
edge f = k * q_i * q_j / (dot(r, r) * sqrt(dot(r, r)))
dt(p) = u - p
dt(u) = u - p + sum_j(r * f)
