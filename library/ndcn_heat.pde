# Heat diffusion on a network (Zang & Wang, KDD 2020, "Neural Dynamics on Complex Networks",
# sec. 4.1; reference code calvin-zcx/ndcn): dx/dt = -k L x with the unnormalised Laplacian
# L = D - A, i.e. dx_i/dt = k sum_j A_ij (x_j - x_i); lap(x) is -L x.
model ndcn_heat
field x : node
param k = 1.0                # heat capacity / diffusion constant (1 / time)
dt(x) = k * lap(x)
