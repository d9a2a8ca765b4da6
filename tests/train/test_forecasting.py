"""Graph-signal forecasting (PA-DGN protocol): windows, NaN masking, scheduled sampling,
training, the NOAA and `pde2gnn simulate` loaders, and `pde2gnn train SPEC --data`.

The models are hand-written stand-ins with the stepper interface that
``compiler.compile_stepper`` provides for discrete-time specs.
"""
import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.utils import is_undirected

from pde2gnn.cli import commands as cli
from pde2gnn.compiler import pipeline as compiler
from pde2gnn.errors import DataError, OptionError
from pde2gnn.data.forecast import (ForecastData, Split, load_forecast_data, load_noaa,
                                   load_simulation, time_split)
from pde2gnn.simulate import SimulationConfig, simulate
from pde2gnn.train.tasks.forecast_config import ForecastConfig, teacher_forcing_prob
from pde2gnn.models.forecasting import Persistence
from pde2gnn.train.tasks.forecast_eval import Normalizer, evaluate, gather_windows, masked_loss, persistence_mae, rollout, window_index
from pde2gnn.train.tasks.forecasting import train

from tests.conftest import DATA as SHARED, need_data


# ------------------------------------------------------------------ stand-in steppers

class NodeLinear(nn.Module):
    """f_next = f @ W + b, the same for every node (an AR(1) model)."""

    def __init__(self, channels=1, scale=0.3):
        super().__init__()
        self.channels = channels
        self.W = nn.Parameter(scale * torch.eye(channels))
        self.b = nn.Parameter(torch.zeros(channels))

    def init_hidden(self, batch):
        return ()

    def forward(self, f, hidden):
        return f @ self.W + self.b, hidden


class TinyGRU(nn.Module):
    """A node-wise GRU cell on [f, mean of the neighbours' f], residual read-out."""

    def __init__(self, edge_index, num_nodes, channels=1, hidden=8):
        super().__init__()
        self.channels, self.n, self.h = channels, num_nodes, hidden
        A = torch.zeros(num_nodes, num_nodes)
        A[edge_index[1], edge_index[0]] = 1.0
        self.register_buffer("A", A / A.sum(1, keepdim=True).clamp(min=1))
        self.cell = nn.GRUCell(2 * channels, hidden)
        self.out = nn.Linear(hidden, channels)

    def init_hidden(self, batch):
        return (torch.zeros(batch, self.n, self.h),)

    def forward(self, f, hidden):
        B = f.shape[0]
        x = torch.cat([f, self.A @ f], -1).reshape(B * self.n, -1)
        h = self.cell(x, hidden[0].reshape(B * self.n, -1)).reshape(B, self.n, -1)
        return f + self.out(h), (h,)


def ring(n):
    i = torch.arange(n)
    return torch.cat([torch.stack([i, (i + 1) % n]), torch.stack([(i + 1) % n, i])], 1)


def toy_data(T=240, N=6, seed=0, missing=0.0):
    """One AR(1) series per node around a mean of 10: x(t+1) - 10 = 0.9 (x(t) - 10) + noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(T, N)
    x[0] = torch.randn(N, generator=g)
    for t in range(1, T):
        x[t] = 0.9 * x[t - 1] + 0.3 * torch.randn(N, generator=g)
    x = x + 10.0
    if missing:
        x[torch.rand(T, N, generator=g) < missing] = float("nan")
    return ForecastData("toy", x[None, :, :, None], ring(N), None, time_split(T), "°C", (4, 3))


# ------------------------------------------------------------------ windows, schedule

def test_window_index_and_gather():
    sp = Split(torch.tensor([0, 2]), 3, 10)
    idx = window_index(sp, 4)
    assert idx.tolist() == [[0, 3], [0, 4], [0, 5], [0, 6], [2, 3], [2, 4], [2, 5], [2, 6]]
    assert window_index(sp, 4, stride=3).tolist() == [[0, 3], [0, 6], [2, 3], [2, 6]]
    # series[s, t, n, c] = 100 s + t identifies every frame
    S, T, N = 3, 12, 5
    series = (100 * torch.arange(S)[:, None] + torch.arange(T)[None, :]).float()
    series = series[:, :, None, None].expand(S, T, N, 2)
    w = gather_windows(series, idx, 4)
    assert w.shape == (8, 4, N, 2)
    assert w[5, :, 0, 0].tolist() == [204, 205, 206, 207]
    # every window stays inside the split's frames
    assert int((idx[:, 1] + 4).max()) <= sp.stop and int(idx[:, 1].min()) >= sp.start
    with pytest.raises(OptionError, match="does not fit"):
        window_index(sp, 8)


def test_time_split_sizes():
    s = time_split(1461)
    assert [(v.start, v.stop) for v in s.values()] == [(0, 974), (974, 1217), (1217, 1461)]


def test_teacher_forcing_schedule():
    k = 50.0
    p = [teacher_forcing_prob(s, k) for s in range(0, 2000, 10)]
    assert p[0] == pytest.approx(k / (k + 1))
    assert all(a > b for a, b in zip(p, p[1:]))
    assert teacher_forcing_prob(k * math.log(k), k) == pytest.approx(0.5)
    assert teacher_forcing_prob(10 ** 9, k) < 1e-300  # no overflow


def test_normalizer_is_nan_aware():
    d = toy_data(missing=0.2)
    norm = Normalizer.fit(d)
    tr = d.series[0, :d.splits["train"].stop].numpy()
    assert float(norm.mean) == pytest.approx(np.nanmean(tr), rel=1e-5)
    assert float(norm.std) == pytest.approx(np.nanstd(tr), rel=1e-4)
    x = d.series[0, :5]
    assert torch.allclose(norm.inverse(norm(x)), x, equal_nan=True)


# ------------------------------------------------------------------ missing values

def test_masked_loss_ignores_missing_targets():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(3, 4, 5, 1, generator=g, requires_grad=True)
    tgt = torch.randn(3, 4, 5, 1, generator=g)
    holes = torch.rand(3, 4, 5, 1, generator=g) < 0.3
    holes[2] = True                              # window 2: every target missing
    with_nan = tgt.masked_fill(holes, float("nan"))
    garbage = tgt.masked_fill(holes, 1e6)
    for kind in ("mse", "mae"):
        a = masked_loss(pred, with_nan, kind)
        ga, = torch.autograd.grad(a, pred)
        b = masked_loss(pred, garbage, kind, mask=~holes)
        gb, = torch.autograd.grad(b, pred)
        assert torch.isfinite(a) and torch.equal(a, b) and torch.equal(ga, gb)
        assert (ga[holes] == 0).all()
        # the all-missing window contributes nothing
        c = masked_loss(pred[:2], with_nan[:2], kind)
        assert torch.allclose(a, c)
    # a batch with no valid target: zero loss, zero (not NaN) gradient
    z = masked_loss(pred, torch.full_like(tgt, float("nan")))
    gz, = torch.autograd.grad(z, pred)
    assert z.item() == 0 and (gz == 0).all()


def test_nan_inputs_never_reach_loss_or_gradient():
    torch.manual_seed(0)
    N = 5
    model = TinyGRU(ring(N), N)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 6, N, 1, generator=g)
    y = torch.randn(4, 3, N, 1, generator=g)
    hx = torch.rand(x.shape, generator=g) < 0.3
    hy = torch.rand(y.shape, generator=g) < 0.3
    hx[:, 0, 0] = True                           # the first frame too (filled with 0)

    def grads(xin, yt, **masks):
        model.zero_grad()
        gen = torch.Generator().manual_seed(5)
        pred = rollout(model, xin, 3, yt, teacher_prob=0.5, generator=gen,
                       in_mask=masks.get("in_mask"), target_mask=masks.get("target_mask"))
        loss = masked_loss(pred, yt, mask=masks.get("target_mask"))
        loss.backward()
        return pred.detach(), loss.detach(), [p.grad.clone() for p in model.parameters()]

    p1, l1, g1 = grads(x.masked_fill(hx, float("nan")), y.masked_fill(hy, float("nan")))
    p2, l2, g2 = grads(x.masked_fill(hx, 1e6), y.masked_fill(hy, -1e6), in_mask=~hx,
                       target_mask=~hy)
    assert torch.isfinite(p1).all() and torch.isfinite(l1)
    assert all(torch.isfinite(g).all() for g in g1)
    # whatever the missing entries hold, nothing changes
    assert torch.equal(p1, p2) and torch.equal(l1, l2)
    assert all(torch.equal(a, b) for a, b in zip(g1, g2))


def test_persistence_carries_the_last_observation_forward():
    x = torch.tensor([[1.0, 2.0], [3.0, float("nan")], [float("nan"), float("nan")]])
    x = x[None, :, :, None]                      # [1, 3 frames, 2 nodes, 1]
    pred = rollout(Persistence(), x, 2)
    assert pred[0, :, :, 0].tolist() == [[3.0, 2.0], [3.0, 2.0]]
    first_missing = torch.tensor([[float("nan")]])[None, :, :, None]
    assert rollout(Persistence(), first_missing, 1).item() == 0.0   # training mean


# ------------------------------------------------------------------ training

def test_training_lowers_validation_mae():
    d = toy_data(missing=0.05)
    cfg = ForecastConfig(n_in=4, n_out=3, epochs=8, lr=0.05, weight_decay=0.0, batch_size=16,
                         patience=0, ss_k=20.0, seed=0, threads=1)
    torch.manual_seed(0)
    untrained = evaluate(NodeLinear(), d, "val", cfg, Normalizer.fit(d))["mae"]
    r = train(lambda data: NodeLinear(), d, cfg, progress=False)
    assert r["epochs_run"] == 8 and len(r["mae_per_horizon"]) == 3
    assert r["val_mae"] < 0.8 * untrained
    # AR(1) with a = 0.9 is learnt: better than persistence at every horizon
    base = persistence_mae(d, cfg)["mae_per_horizon"]
    assert all(m < b for m, b in zip(r["mae_per_horizon"], base))
    assert r["num_parameters"] == 2 and r["history"][0]["teacher_prob"] < 20 / 21
    # the GRU stand-in trains too (hidden state carried through warm-up and rollout)
    cfg.epochs, cfg.lr = 3, 0.01
    r = train(lambda data: TinyGRU(data.edge_index, data.num_nodes), d, cfg, progress=False)
    assert np.isfinite(r["mae_mean"]) and r["num_parameters"] > 100


def test_early_stopping_and_bad_models():
    d = toy_data(T=120)
    cfg = ForecastConfig(n_in=4, n_out=3, epochs=20, lr=0.01, weight_decay=0.0, patience=2,
                         threads=1)

    class Frozen(NodeLinear):      # zero gradients: Adam leaves it as it is (lr must be > 0)
        def forward(self, f, hidden):
            return f @ self.W.detach() + self.b.detach() + 0 * self.W.sum(), hidden
    r = train(lambda data: Frozen(), d, cfg, progress=False)
    assert r["epochs_run"] == 3 and r["best_epoch"] == 0
    r = train(Persistence(), d, cfg, progress=False)  # no parameters: evaluated only
    assert r["epochs_run"] == 0 and r["mae_per_horizon"] == persistence_mae(d, cfg)["mae_per_horizon"]

    class Wrong(NodeLinear):
        def forward(self, f, hidden):
            return f[:, :2], hidden
    with pytest.raises(OptionError, match="shape"):
        train(lambda data: Wrong(), d, cfg, progress=False)
    with pytest.raises(OptionError, match="channel"):
        train(lambda data: NodeLinear(channels=2), d, cfg, progress=False)
    with pytest.raises(OptionError, match="loss"):
        train(Persistence(), d, ForecastConfig(loss="l1"), progress=False)


# ------------------------------------------------------------------ loaders

@pytest.mark.data
def test_noaa_loader(tmp_path):
    need_data("sensors", "noaa_central_us_daily_1990_1993")
    d = load_noaa(str(SHARED))
    assert d.series.shape == (1, 1461, 137, 1) and d.units == "°C" and d.window == (12, 12)
    assert d.pos.shape == (137, 2)
    assert (d.pos[:, 0].min() > 30) and (d.pos[:, 1].max() < -75)   # lat, lon of central US
    sizes = {k: v.frames for k, v in d.splits.items()}
    assert sizes == {"train": 974, "val": 243, "test": 244}
    assert 0.015 < float(torch.isnan(d.series).float().mean()) < 0.025
    ei = d.edge_index
    assert is_undirected(ei) and not (ei[0] == ei[1]).any()
    deg = torch.bincount(ei[1], minlength=137)
    assert int(deg.min()) >= 4
    assert load_forecast_data("NOAA", str(SHARED)).series.shape == d.series.shape
    with pytest.raises(DataError, match=str(tmp_path / "sensors")):
        load_noaa(str(tmp_path))
    with pytest.raises(DataError, match="did you mean 'noaa'"):
        load_forecast_data("noa", str(SHARED))
    # 1-step persistence on daily Tmax: a few degrees
    mae = persistence_mae(d, ForecastConfig(n_in=12, n_out=12))["mae_per_horizon"]
    assert 2.0 < mae[0] < 4.0 and mae[-1] > mae[0]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "cd.npz"
    cfg = SimulationConfig(n=12, trajectories=10, frames=8, sample=30, batch=10, modes=2)
    simulate("convection_diffusion", str(out), cfg, progress=False, log=lambda s: None)
    return out


def test_simulation_loader(simulated, tmp_path):
    d = load_simulation(simulated)
    assert d.series.shape == (10, 8, 30, 1) and d.pos.shape == (30, 2)
    assert d.name == "convection_diffusion" and d.window == (5, 15)
    assert [len(d.splits[k].series) for k in ("train", "val", "test")] == [7, 2, 1]
    assert all((s.start, s.stop) == (0, 8) for s in d.splits.values())
    assert is_undirected(d.edge_index) and int(d.edge_index.max()) < 30
    cfg = ForecastConfig(n_in=3, n_out=4)
    assert window_index(d.splits["val"], 7).shape == (4, 2)
    assert np.isfinite(persistence_mae(d, cfg)["mae"])
    assert load_forecast_data(str(simulated)).series.shape == d.series.shape
    with pytest.raises(DataError, match="file not found"):
        load_forecast_data(str(tmp_path / "none.npz"))
    np.savez(tmp_path / "bad.npz", frames=np.zeros((2, 3)))
    with pytest.raises(DataError, match="missing array"):
        load_simulation(tmp_path / "bad.npz")


# ------------------------------------------------------------------ command line

def test_cli_forecasting(simulated, tmp_path, monkeypatch, capsys):
    assert cli.main(["train", "heat", "--data", str(simulated)]) == 2
    assert "--data is for discrete-time" in capsys.readouterr().err
    monkeypatch.setattr(compiler, "is_discrete", lambda spec: True, raising=False)
    seen = {}

    def compile_stepper(spec, edge_index, num_nodes, dims=None, params=None, inputs=None):
        seen.update(num_nodes=num_nodes, inputs=inputs)
        return TinyGRU(edge_index, num_nodes, hidden=4)
    monkeypatch.setattr(compiler, "compile_stepper", compile_stepper, raising=False)
    assert cli.main(["train", "heat"]) == 2
    assert "give the series with --data" in capsys.readouterr().err
    out = tmp_path / "res" / "f.json"
    assert cli.main(["train", "heat", "--data", str(simulated), "--epochs", "2", "--seeds",
                     "2", "--n-in", "2", "--n-out", "3", "--batch-size", "8", "--results",
                     str(out), "--quiet", "--threads", "1"]) == 0
    # heat declares no input 'pos', so the CLI does not pass the coordinates (compile would
    # reject an input the spec does not declare)
    assert seen["num_nodes"] == 30 and seen["inputs"] is None
    res = json.loads(out.read_text())
    for key in ("model", "dataset", "seeds", "mae_per_horizon", "mae_per_horizon_per_seed",
                "mae_mean", "val_mae", "epochs_run", "time_per_epoch_s", "num_parameters",
                "persistence", "config"):
        assert key in res
    assert res["seeds"] == [0, 1] and len(res["mae_per_horizon"]) == 3
    assert np.array(res["mae_per_horizon_per_seed"]).shape == (2, 3)
    text = capsys.readouterr().out
    assert " 1-step MAE:" in text and " 3-step MAE:" in text and "persistence" in text
    assert cli.main(["train", "heat", "--data", "nowhere"]) == 2
    assert "unknown forecasting data 'nowhere'" in capsys.readouterr().err


FORECASTERS = ["var", "mlp_forecast", "gru_forecast", "rgn", "rgn_standardop", "padgn_rgn",
               "standardop", "meshop", "padgn"]


@pytest.mark.parametrize("model", FORECASTERS)
def test_padgn_protocol_lives_in_the_library_tomls(model):
    """`pde2gnn train MODEL --data noaa` (or the synthetic .npz) alone gives the values that
    experiments/padgn/runs/run_*.sh used to pass as options: library/padgn.toml, inherited."""
    from types import SimpleNamespace

    from pde2gnn.cli.parser import build_parser
    from pde2gnn.resources import resolve_spec
    from pde2gnn.train.tasks.forecast_config import ForecastConfig
    from pde2gnn.train.tasks.plugins.forecasting import Forecasting

    task = Forecasting(resolve_spec(model), build_parser().parse_args(["train", model]))
    common = dict(epochs=30, patience=8, lr=1e-3, weight_decay=5e-4, batch_size=16)
    noaa = task.configure(SimpleNamespace(name="noaa", window=(12, 12)))
    assert noaa == ForecastConfig(n_in=12, n_out=12, max_windows_per_epoch=512, **common)
    synthetic = task.configure(SimpleNamespace(name="convection_diffusion", window=(5, 15)))
    assert synthetic == ForecastConfig(n_in=5, n_out=15, stride=20, ss_k=50,
                                       max_windows_per_epoch=350,
                                       grad_clip=1.0 if model == "meshop" else 0.0, **common)
    other = task.configure(SimpleNamespace(name="heat", window=(5, 15)))   # no table: [default]
    assert other == ForecastConfig(n_in=5, n_out=15, **common)
