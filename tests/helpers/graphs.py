"""Small test graphs."""
import torch


def random_graph(n=12, p=0.35, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = (torch.rand(n, n, generator=g) < p).float()
    a = torch.triu(a, 1)
    a = a + a.T
    for i in range(n):  # keep it connected with a path
        if i + 1 < n:
            a[i, i + 1] = a[i + 1, i] = 1
    idx = a.nonzero().T
    return torch.stack([idx[1], idx[0]]), n
