# GRAFF-D (Di Giovanni et al. 2022): graff.pde with W diagonal (one interaction strength per
# channel).
model graff_d extends graff
override learn W : [d, d] diag           # pairwise channel interaction
