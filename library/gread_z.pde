# GREAD-Z (Choi et al., ICML 2023, eq. 12): gread.pde with the Zeldovich reaction
# r(H) = H^2 (1 - H) (the reference: -(H^2 - H) H).
model gread_z extends gread
override let r = x^2 * (1 - x)
