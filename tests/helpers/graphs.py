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


def ring_node_data(n=30):
    """A node-classification Data set on a ring of ``n`` nodes: 3 classes in runs of 10,
    one-hot features plus noise (torch's global seed 0), train / val / test masks by
    node index mod 3."""
    from torch_geometric.data import Data
    torch.manual_seed(0)
    ring = torch.arange(n)
    nxt = (ring + 1) % n
    edge_index = torch.stack([torch.cat([ring, nxt]), torch.cat([nxt, ring])])
    y = (ring // 10) % 3
    x = torch.nn.functional.one_hot(y, 3).float() + 0.5 * torch.randn(n, 3)
    tr, va, te = (ring % 3 == r for r in range(3))
    return Data(x=x, y=y, edge_index=edge_index, train_mask=tr, val_mask=va, test_mask=te)
