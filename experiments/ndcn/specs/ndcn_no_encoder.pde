# NDCN ablation "no encoding layer" (Zang & Wang 2020, table 1; the reference's `no_embed`): the
# flow of library/ndcn.pde on the one-channel state itself (hidden = 1, no encoder), with the
# Linear(1, 1) decoder.
model ndcn_no_encoder extends ndcn
