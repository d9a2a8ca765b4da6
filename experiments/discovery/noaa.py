"""A sparse law for NOAA daily Tmax (central US, 1990-1993) and its one-day forecast error.

    OMP_NUM_THREADS=1 PYTHONPATH=. python experiments/discovery/noaa.py --data-root /tmp/data \
        --out experiments/discovery/runs/noaa.json

Discovery needs complete frames: missing values (1.95 %) are filled by linear interpolation in
time per station. The training days (974, the forecasting split of pde2gnn/data/forecast.py)
are cut into 32 chunks of 30 days (the trajectories of the cross-validation); the found ODE is
integrated one day ahead from every test day (filled state) and scored, like the forecasting
table, on the observed (not missing) values of the next day, next to persistence.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from pde2gnn import discover as D
from pde2gnn.compiler.pipeline import compile as compile_spec
from pde2gnn.data.forecast import load_noaa
from pde2gnn.integrate.solve import ODEBlock, SolverConfig

HERE = Path(__file__).resolve().parent


def fill_in_time(values: np.ndarray) -> np.ndarray:
    """[T, N] with NaN -> linearly interpolated in time per node (ends: nearest value)."""
    out = values.copy()
    t = np.arange(len(values))
    for n in range(values.shape[1]):
        ok = np.isfinite(values[:, n])
        out[:, n] = np.interp(t, t[ok], values[ok, n])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", default=str(HERE / "noaa.json"))
    ap.add_argument("--chunk", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(1)
    data = load_noaa(a.data_root)
    raw = data.series[0, :, :, 0].double().numpy()                      # [T, N], NaN missing
    x = fill_in_time(raw)
    tr, te = data.splits["train"], data.splits["test"]
    chunks = np.stack([x[s:s + a.chunk] for s in range(tr.start, tr.stop - a.chunk + 1, a.chunk)])
    traj = D.Trajectories(chunks, np.arange(a.chunk, dtype=float), data.edge_index.numpy(),
                          source="noaa train days")
    found = D.discover(traj, D.load_library(str(HERE / "noaa_library.pde")))
    text = D.found_spec(found, "noaa_found")
    (HERE / "found").mkdir(exist_ok=True)
    (HERE / "found" / "noaa_found.pde").write_text(text)
    print("\n".join(D.summary_lines(found)))
    days = np.arange(te.start, te.stop - 1)                              # forecast day t -> t+1
    torch.set_default_dtype(torch.float64)
    vf = compile_spec(text, data.edge_index, x.shape[1], {"d": len(days)})
    with torch.no_grad():
        pred = ODEBlock(vf, 1.0, SolverConfig("dopri5", 1e-7, 1e-9))(torch.tensor(x[days].T))
    pred = pred.numpy().T                                                # [days, N]
    target = raw[days + 1]
    ok = np.isfinite(target)
    mae = float(np.abs(pred - target)[ok].mean())
    persistence = float(np.abs(x[days] - target)[ok].mean())
    res = {"command": "PYTHONPATH=. python experiments/discovery/noaa.py", "equation":
           f"dt(x) = {found.equation()}", **found.to_dict(), "test_days": len(days),
           "one_day_mae": mae, "persistence_one_day_mae": persistence, "units": "°C"}
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(f"one-day forecast MAE {mae:.3f} °C on {len(days)} test days (persistence "
          f"{persistence:.3f} °C)")


if __name__ == "__main__":
    main()
