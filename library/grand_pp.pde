# GRAND++ (Thorpe, Nguyen, Xia, Strohmer, Bertozzi, Osher, Wang, ICLR 2022, "GRAND++: Graph
# Neural Diffusion with a Source Term", eq. 6): grand.pde's diffusion plus a source on the
# labelled nodes I,
#   dX/dt = sigmoid(alpha) (A(X0) - I) X + C,   C_i = 1[i in I] (x_i(0) - xbar),
# xbar the mean of x(0) over I. label_mask (1 on the training nodes) is bound by the node
# classification task. grand's source beta * x0 is dropped.
model grand_pp extends grand
input label_mask : node[1]
let xbar = mean_i(label_mask * x0) / mean_i(label_mask)
override dt(x) = sigmoid(alpha) * div(a * grad(x)) + label_mask * (x0 - xbar)
