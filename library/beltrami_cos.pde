# BLEND with the cosine-similarity scores of the reference code (graph-neural-pde,
# attention_type = "cosine_sim"; its best PubMed variant): per head h,
#   s^h_ij = <q_i, k_j>_h / (|q_i|_h |k_j|_h),  q = z W_Q + c_q, k = z W_K + c_k, z = [u, x],
# with <.,.>_h, |.|_h over head h's k / h channels (c_q, c_k: the reference's Linear biases).
# Squareplus normalised over N(i) (row-normalised, attention_norm_idx = 0), the heads' matrices
# averaged; computed once from z(0) and held fixed -> linear ODE, one sparse matrix per solve.
# The 1e-10 under the square root keeps the score finite for a zero query or key.
model beltrami_cos extends beltrami
override dim k = 16                      # query / key width: h heads of k / h
override dim h = 1                       # attention heads
learn c_q : [k]
learn c_k : [k]
override let q = u0 @ Q_u + x0 @ Q_x + c_q        # queries  [N, k]
override let kk = u0 @ K_u + x0 @ K_x + c_k       # keys     [N, k]
edge s = dot(q_i, kk_j, heads=h) / sqrt(dot(q_i, q_i, heads=h) * dot(kk_j, kk_j, heads=h) + 1e-10)
override edge a = mean_heads(squareplus_j(s))
