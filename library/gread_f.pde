# GREAD-F (Choi et al., ICML 2023, eq. 10): gread.pde with the Fisher reaction r(H) = H (1 - H).
model gread_f extends gread
override let r = x * (1 - x)
