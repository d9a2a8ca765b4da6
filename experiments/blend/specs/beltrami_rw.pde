# BLEND as the reference code's command line runs it (issue 39): graph-neural-pde's
# `python run_GNN.py --dataset Citeseer --beltrami` merges its command-line defaults over
# best_params.py, and the parser's default `--block constant` replaces the best parameters'
# `block: attention` (run_GNN.py merge_cmd_args: `if cmd_opt['block'] is not None`). So the
# diffusion is ConstantODEblock's: no attention, the fixed random-walk normalised adjacency with
# self-loops (utils.get_rw_adj, norm_dim = 1: a_ij = 1 / deg_j, columns sum to 1), on
# z = [u, x] (positional and feature encodings), the source z(0) detached (ODEblock.set_x0).
# Here a_ij = 1 / deg_j is squareplus_i of equal scores: every score of a column the same, its
# normalised weights are 1 / (number of edges leaving j); the compiler folds it into one static
# edge vector per graph.
model beltrami_rw
field u : node[p]
field x : node[d]
dim p = 16                               # positional channels
learn alpha = 0                          # time scale sigmoid(alpha)
learn beta = 0                           # source term beta * z(0)
let u0 = init(u)
let x0 = init(x)
edge a = squareplus_i(0 * dot(x0_i, x0_j))
dt(u) = sigmoid(alpha) * (sum_j(a * u_j) - u) + beta * detach(u0)
dt(x) = sigmoid(alpha) * (sum_j(a * x_j) - x) + beta * detach(x0)
