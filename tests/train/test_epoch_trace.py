"""Per-epoch training diagnostics (pde2gnn.train.diagnostics: accepted_steps, attention_stats,
Pde2gnnTrace), used to compare BLEND with its reference code epoch by epoch (issue 39)."""
import math

import numpy as np
import torch
from torch_geometric.data import Data

from pde2gnn.integrate.solve import SolverConfig
from pde2gnn.train.diagnostics import Pde2gnnTrace, accepted_steps, attention_stats
from pde2gnn.train.tasks.node_classification import TrainConfig, train

SPEC = """model att
field x : node[d]
dim k = 8
dim h = 2
learn Q : [d, k]
learn K : [d, k]
learn alpha = 0
learn beta = 0
let x0 = init(x)
edge a = mean_heads(squareplus_i(dot(x0_i @ Q, x0_j @ K, heads=h)))
dt(x) = sigmoid(alpha) * (sum_j(a * x_j) - x) + beta * detach(x0)
"""


def test_accepted_steps_tells_retries_from_advances():
    """A rejected attempt is retried from the same t0; the last attempt ends the solve."""
    rep = accepted_steps([(0.0, 0.5), (0.0, 0.25), (0.25, 0.5), (0.75, 0.5)])
    assert rep["accepted"] == 3 and rep["rejected"] == 1
    assert (rep["dt_first"], rep["dt_min"], rep["dt_median"], rep["dt_max"]) == (0.25, 0.25,
                                                                                 0.5, 0.5)
    assert accepted_steps([])["accepted"] == 0


def test_attention_stats_against_a_hand_computation():
    """Entropy per group of the head-averaged weights, by numpy; uniform weights reach log of
    the group size; the column sums of normalised weights are 1."""
    g = np.random.default_rng(0)
    group = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    raw = torch.tensor(g.random((10, 3)))
    w = raw / torch.zeros(4, 3, dtype=raw.dtype).index_add_(0, group, raw)[group]
    rep = attention_stats(w, group, 5)                # node 4 has no edges: left out
    m = w.mean(1).numpy()
    want = np.mean([-sum(m[e] * math.log(m[e]) for e in range(10) if group[e] == n)
                    for n in range(4)])
    assert abs(rep["entropy"] - want) < 1e-12 and rep["colsum_err"] < 1e-12
    assert abs(rep["max"] - m.max()) < 1e-12 and abs(rep["mean"] - m.mean()) < 1e-12
    uni = attention_stats(1.0 / torch.bincount(group)[group].double(), group, 4)
    assert abs(uni["entropy"] - uni["entropy_uniform"]) < 1e-12
    assert abs(uni["entropy_uniform"] - np.mean(np.log([3, 2, 1, 4]))) < 1e-12
    assert rep["entropy"] <= rep["entropy_uniform"] + 1e-12


def test_trace_of_a_training_run_agrees_with_its_history(tmp_path):
    """One record per epoch; its loss and accuracies are the run's own; every dopri5 attempt
    costs 6 evaluations beyond the 2 of the start (f(t0) and the initial-step probe); the
    traced attention is column-normalised; gradients are named by parameter."""
    spec = tmp_path / "att.pde"
    spec.write_text(SPEC)
    torch.manual_seed(0)
    n = 24
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    chord = torch.stack([torch.arange(0, n, 3), (torch.arange(0, n, 3) + 7) % n])
    edges = torch.cat([ring, ring.flip(0), chord, chord.flip(0)], 1)
    masks = {k: torch.zeros(n, dtype=torch.bool) for k in ("train_mask", "val_mask", "test_mask")}
    masks["train_mask"][:8], masks["val_mask"][8:16], masks["test_mask"][16:] = True, True, True
    data = Data(x=torch.rand(n, 5), y=torch.arange(n) % 3, edge_index=edges, **masks)
    cfg = TrainConfig(epochs=4, time=2.0, lr=0.05, hidden=6, dropout=0.3,
                      solver=SolverConfig("dopri5", rtol=1e-6, atol=1e-6))
    with Pde2gnnTrace(data.y, (data.train_mask, data.val_mask, data.test_mask)) as trace:
        r = train(str(spec), data, cfg, progress=False)
    recs, hist = trace.records, r["history"]
    assert len(recs) == 4
    for rec, h in zip(recs, hist):
        assert abs(rec["loss"] - h["loss"]) < 1e-12 and rec["val"] == h["val_acc"]
        assert rec["train"] == h["train_acc"] and rec["nfe_train"] == h["nfe"]
        for phase in ("train", "eval"):
            st = rec[f"steps_{phase}"]
            assert rec[f"nfe_{phase}"] == 2 + 6 * (st["accepted"] + st["rejected"])
            # float32 weights: a column of at most 5 edges sums to 1 within a few roundings
            assert rec[f"att_{phase}"]["colsum_err"] < 10 * torch.finfo(torch.float32).eps
        assert {"Q", "K"} <= {k.split(".")[-2] for k in rec["grad_norm"] if "learnables" in k}
    assert recs[0]["groups"][0]["lr"] == 0.05
    assert recs[r["best_epoch"]]["test"] == r["test_acc"]
