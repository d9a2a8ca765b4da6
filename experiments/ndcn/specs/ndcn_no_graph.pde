# NDCN ablation "no graph" (Zang & Wang 2020, table 1): the encoded flow without the graph
# operator, dh/dt = relu(h W + c): every node evolves on its own.
model ndcn_no_graph extends ndcn
override dt(h) = relu(h @ W + c)
