# GraphCON-GCN with the reference's first residual form (res_version 1, its Cornell setting;
# Rusch et al., ICML 2022): F(X) = Abar X W + b - X W R.
model graphcon_v1 extends graphcon
override let g = relu(sum_j(abar_ij * x_j) @ W + b - x @ W @ R) - gamma * x - alpha * y
