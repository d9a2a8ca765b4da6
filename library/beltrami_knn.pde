# BLEND-kNN (Chamberlain et al., NeurIPS 2021, section 3.3): beltrami.pde diffusing on the
# k-nearest-neighbour graph of the positional coordinates instead of the input graph. The graph
# is built from the raw positional encoding (--rewire-from pos, default) or from the encoded u(0)
# (--rewire-from u0), once or every --rewire-every K epochs; --knn-k overrides k.
model beltrami_knn extends beltrami
graph knn(u, k=16)
