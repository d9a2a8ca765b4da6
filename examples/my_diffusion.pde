# My first spec: diffusion with the symmetrically normalised adjacency, one learned rate per
# channel, and a source term that keeps some of the initial features (a GRAFF-D-like flow):
#   dx/dt = Abar x W - x + beta x(0),  Abar = D^-1/2 A D^-1/2,  W diagonal.
model my_diffusion
field x : node[d]                # the state: d channels per node (d = the hidden width)
learn W : [d, d] diag            # one learned diffusion rate per channel
learn beta = 0                   # strength of the source term
let x0 = init(x)                 # the state at t = 0
dt(x) = sum_j(abar_ij * x_j) @ W - x + beta * x0
