# GRAFF-DD (Di Giovanni et al. 2022): graff.pde with W diagonally dominant,
# W = W0 + diag(q * rowsum|W0| + r), W0 symmetric with zero diagonal.
model graff_dd extends graff
override learn W : [d, d] diag_dom       # pairwise channel interaction
