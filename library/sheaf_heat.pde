# Sheaf heat equation dX/dt = -L_F X (Hansen & Ghrist 2019): diffusion towards the global sections
# of the sheaf, here with orthogonal maps learned once from X(0). With kind=identity it is the heat
# equation lap(x) on each stalk coordinate (L_F = L ⊗ I_d).
model sheaf_heat
field x : node[d, k]
dim d = 2
dim k = 1
let x0 = init(x)
edge F = restriction(x0_i, x0_j, kind=orthogonal)
dt(x) = sheaf_lap(F, x)
