# The charged-particle physics of library/nbody_charged.pde with the reference generator's force
# clipping (EGNN's n_body_system/dataset/synthetic_sim.py, ChargedParticlesSim: every component
# of the total force on a particle clipped to +-max_F = 0.1 / dt = 100, dt = 0.001), which is
# what the published numbers were measured on. Component-wise clipping is not rotation
# equivariant, so p and v are plain node[3] fields here (the opt-out: nothing is checked);
# clip(F, -M, M) = F - relu(F - M) + relu(-F - M). Like charges repel.
model nbody_charged_ref
field p : node[3]
field v : node[3]
input q : node[1]
param k = 1.0
param max_F = 100.0
edge r = p_i - p_j
edge f = k * q_i * q_j / (dot(r, r) * sqrt(dot(r, r)))
let F = sum_j(r * f)
dt(p) = v
dt(v) = F - relu(F - max_F) + relu(-F - max_F)
