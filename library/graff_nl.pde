# GRAFF-NL (Di Giovanni et al. 2022, section 5, "non-linear GRAFF"): graff.pde's energy, with the
# activation applied to the gradient-flow update:  X(t + tau) = X(t) + tau relu(-X Omega +
# Abar X W + beta X(0)).  With explicit Euler at step tau this is dt(x) = relu(...). The relu
# wraps the whole flow, so the right-hand side is one gather / scatter message pass instead of a
# fused sparse product; the energy is no longer guaranteed to decrease.
model graff_nl extends graff
override dt(x) = relu(-var(E, x) + beta * init(x))
