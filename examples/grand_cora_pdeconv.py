"""Tutorial: GRAND on Cora with ``PDEConv`` in your own training loop.

``PDEConv("grand", time=T, d=...)`` is a torch_geometric-style layer that integrates the GRAND-l
vector field (Chamberlain et al., ICML 2021, eq. 5 with the attention of sec. 3.1 computed once
from x(0)) on the input graph from 0 to T. The model around it is GRAND's: input dropout ->
linear encoder -> PDEConv -> ReLU -> dropout -> linear decoder, trained with Adamax on the
Planetoid public split. The settings that matter (library/grand.toml, the ones `pde2gnn train
grand` uses): width d = 80, T = 18.3, input dropout 0.6, dropout 0.2, weight decay 0.05, lr
0.01, self-loops added, dopri5 at rtol = atol = 1e-3; test accuracy at the epoch of best
validation accuracy.

Data: PyG's own ``Planetoid`` dataset, read from ``$PDE2GNN_DATA/Planetoid`` (downloaded there
if absent and the machine is online).

    python examples/grand_cora_pdeconv.py [--seeds 5] [--epochs 100] [--smoke]
"""
import argparse
import os
import time

import torch
import torch.nn as nn
from torch_geometric.datasets import Planetoid
from torch_geometric.utils import add_self_loops

from pde2gnn.models.pdeconv import PDEConv
from pde2gnn.integrate.solve import SolverConfig


class GRAND(nn.Module):
    """Input dropout -> Linear -> PDEConv('grand') -> ReLU -> dropout -> Linear."""

    def __init__(self, num_features, num_classes, width=80, time=18.3):
        super().__init__()
        self.input_dropout, self.dropout = nn.Dropout(0.6), nn.Dropout(0.2)
        self.encoder = nn.Linear(num_features, width)
        self.conv = PDEConv("grand", time=time, d=width, k=64,
                            solver=SolverConfig(method="dopri5", rtol=1e-3, atol=1e-3))
        self.decoder = nn.Linear(width, num_classes)

    def forward(self, x, edge_index):
        h = self.encoder(self.input_dropout(x))
        h = torch.relu(self.conv(h, edge_index))
        return self.decoder(self.dropout(h))


def run(data, seed, epochs):
    """Train one model; the test accuracy at the epoch of best validation accuracy, s/epoch."""
    torch.manual_seed(seed)
    model = GRAND(data.num_features, int(data.y.max()) + 1)
    opt = torch.optim.Adamax(model.parameters(), lr=0.01, weight_decay=0.05)
    best_val = best_test = 0.0
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(data.x, data.edge_index)[data.train_mask],
                                           data.y[data.train_mask])
        loss.backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            pred = model(data.x, data.edge_index).argmax(-1)
        val = (pred[data.val_mask] == data.y[data.val_mask]).float().mean().item()
        test = (pred[data.test_mask] == data.y[data.test_mask]).float().mean().item()
        if val > best_val:
            best_val, best_test = val, test
    return best_test, (time.perf_counter() - t0) / epochs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--smoke", action="store_true", help="1 seed, 2 epochs (for CI)")
    ap.add_argument("--out", help="unused (the tutorial has no figure)")
    a = ap.parse_args(argv)
    seeds, epochs = (1, 2) if a.smoke else (a.seeds, a.epochs)
    root = os.path.join(os.environ.get("PDE2GNN_DATA", "data"), "Planetoid")
    data = Planetoid(root=root, name="Cora")[0]
    data.edge_index = add_self_loops(data.edge_index, num_nodes=data.num_nodes)[0]
    torch.set_num_threads(1)
    accs, times = [], []
    for seed in range(seeds):
        acc, s = run(data, seed, epochs)
        accs.append(100 * acc)
        times.append(s)
        print(f"seed {seed}: test accuracy {100 * acc:.2f} % ({s:.3f} s/epoch)")
    acc = torch.tensor(accs)
    std = acc.std(unbiased=False).item() if seeds > 1 else 0.0
    print(f"GRAND with PDEConv on Cora: {acc.mean():.2f} ± {std:.2f} % over {seeds} seed(s), "
          f"{sum(times) / len(times):.3f} s/epoch, {epochs} epochs")


if __name__ == "__main__":
    main()
