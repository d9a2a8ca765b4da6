# Candidates for NOAA daily Tmax (°C, time in days): relaxation to a constant, quadratic
# self-term, graph diffusion and sums / means over the 4-NN neighbours. (The saturating terms of
# the default library have poles at x = -1 °C and are left out.)
model noaa_candidates
field x : node[d]
dt(x) = (1 + x + x^2 + lap(x) + sum_j(x_j) + mean_j(x_j) + sum_j(x_i*x_j))
