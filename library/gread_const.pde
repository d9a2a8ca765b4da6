# GREAD-BS with the original adjacency (the reference's block = "constant", data_norm = "gcn"):
# A = D^-1/2 A D^-1/2, i.e. abar_ij, in place of the attention of gread.pde (GREAD, Choi et al.
# ICML 2023; its best Texas configuration).
model gread_const extends gread
override edge a = abar_ij
