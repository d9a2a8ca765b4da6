# GREAD-AC (Choi et al., ICML 2023, eq. 11): gread.pde with the Allen-Cahn reaction
# r(H) = H (1 - H^2).
model gread_ac extends gread
override let r = x * (1 - x^2)
