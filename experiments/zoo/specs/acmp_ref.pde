# ACMP as its reference code computes it (ykiiiiii/ACMP src/function_laplacian_diffusion_ACMP.py,
# block attention, channel_mixing off, barrier 1): f = alpha (sum_j (a_ij - beta) x_j - x)
# - delta (x^2 - 1) x, here with scalar alpha = sigmoid(alpha_train), delta = sigmoid(delta_train)
# (read last round as ODEFunc's one-element parameters; the fetched code's alpha_train and
# delta_train are [1, hidden], per channel, initialised at init_alpha = 0 and init_delta = -10:
# specs/acmp_grand.pde has those). library/acmp.pde states the paper's eq. 7,
# alpha sum_j (a_ij - beta)(x_j - x_i) with per-channel alpha and delta: its diagonal
# -alpha (1 - beta deg_i) grows with the degree (Texas: a node of degree 104 gets +12.7 at
# alpha = 1/2), the reference's is -alpha, so its flow is far less stiff.
model acmp_ref extends acmp
override learn alpha = 0                 # one interaction strength sigmoid(alpha)
override learn delta = 0                 # one Allen-Cahn strength sigmoid(delta)
override dt(x) = sigmoid(alpha) * (sum_j((a - beta) * x_j) - x) + sigmoid(delta) * x * (1 - x^2)
