# Graph-free neural ODE (Chen et al., NeurIPS 2018) on the node states: dx_i/dt = F(x_i), one
# MLP shared by all nodes, no encoder; a baseline that cannot use the network.
model neural_ode
field x : node
net F : mlp(in=1, out=1, hidden=32)
dt(x) = F(x)
