"""Graph-signal time series for forecasting (PA-DGN, Seo, Meng & Liu, ICLR 2020): the synthetic
trajectories written by ``pde2gnn simulate`` and sensor folders such as NOAA daily weather.

Every loader returns a :class:`ForecastData`: the series as one tensor ``[S, T, N, C]`` (S series
— trajectories of a simulation, or 1 for a sensor record —, T frames, N nodes, C channels;
float32, NaN = missing), the graph, node coordinates, and the train / validation / test
:class:`Split` as (series indices, frame range). Forecasting windows are cut inside one split's
frame range (:mod:`pde2gnn.train.tasks.forecasting`), so no window crosses a split boundary.

Sensor folders live under the data root (``--data-root`` / ``$PDE2GNN_DATA``, see
:func:`pde2gnn.data.datasets.data_root`) at ``sensors/<folder>`` and hold ``values.npy`` ``[T, N]`` and
``stations.csv`` (columns ``lat``, ``lon``), as described in the data's README.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from pde2gnn.data.datasets import data_root
from pde2gnn.errors import DataError, did_you_mean
from pde2gnn.graph.construction import great_circle_knn_graph, knn_graph

#: short names of sensor data sets -> folder under ``<data root>/sensors``, units, window (n_in, n_out)
SENSORS = {"noaa": ("noaa_central_us_daily_1990_1993", "°C", (12, 12)),
           "pm10": ("germany_pm10_daily_1998_2009", "µg/m³", (12, 12))}
#: PA-DGN's synthetic setting: first 5 frames observed, next 15 predicted
SYNTHETIC_WINDOW = (5, 15)


@dataclass
class Split:
    """One split: which series, and which frames ``[start, stop)`` of them.

    Attributes:
        series: indices into ``ForecastData.series``'s first axis, ``[S_split]`` long.
        start, stop: frame range (``stop`` exclusive).
    """

    series: Tensor
    start: int
    stop: int

    @property
    def frames(self) -> int:
        return self.stop - self.start

    def describe(self) -> str:
        return f"{len(self.series)} series x frames {self.start}..{self.stop - 1}"


@dataclass
class ForecastData:
    """A forecasting data set.

    Attributes:
        name: e.g. ``noaa`` or the simulated spec's name.
        series: ``[S, T, N, C]`` float32, NaN = missing, in ``units``.
        edge_index: ``[2, E]`` long, symmetric, no self-loops (torch_geometric convention).
        pos: node coordinates ``[N, D]`` float32 (NOAA: (lat, lon) in degrees, which the graph
            models see as edge offsets ``pos_j - pos_i``; synthetic: the
            domain's coordinates), or None.
        splits: ``{'train', 'val', 'test'}`` -> :class:`Split`.
        units: unit of the values (``°C``; ``''`` when dimensionless).
        window: the usual (n_in, n_out) for this data set (NOAA 12/12, synthetic 5/15).
        source: file or folder it was read from.
    """

    name: str
    series: Tensor
    edge_index: Tensor
    pos: Optional[Tensor]
    splits: Dict[str, Split]
    units: str = ""
    window: Tuple[int, int] = (12, 12)
    source: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        return int(self.series.shape[2])

    @property
    def channels(self) -> int:
        return int(self.series.shape[3])

    def describe(self) -> str:
        S, T, N, C = self.series.shape
        miss = float(torch.isnan(self.series).float().mean())
        parts = ", ".join(f"{k} {v.describe()}" for k, v in self.splits.items())
        return (f"{self.name}: {S} series x {T} frames x {N} nodes x {C} channel(s), "
                f"{self.edge_index.shape[1]} edges, {100 * miss:.2f} % missing; {parts}")


def time_split(T: int, fractions=(2 / 3, 1 / 6)) -> Dict[str, Split]:
    """Chronological split of one series of ``T`` frames: the first ``fractions[0]`` train, the
    next ``fractions[1]`` validate, the rest test (frame counts rounded down)."""
    n_tr = int(T * fractions[0])
    n_va = int(T * fractions[1])
    one = torch.zeros(1, dtype=torch.long)
    return {"train": Split(one, 0, n_tr), "val": Split(one, n_tr, n_tr + n_va),
            "test": Split(one, n_tr + n_va, T)}


def load_sensor_folder(folder, name: Optional[str] = None, units: str = "", k: int = 4,
                       window: Tuple[int, int] = (12, 12),
                       metric: str = "great-circle") -> ForecastData:
    """A sensor folder: ``values.npy`` ``[T, N]`` (NaN = missing) and ``stations.csv`` (header
    row with ``lat`` and ``lon`` columns, one row per column of ``values.npy``).

    The graph is the symmetric ``k``-NN graph of the stations by great-circle distance
    (``metric='great-circle'``, :func:`pde2gnn.graph.construction.great_circle_knn_graph`), or, with
    ``metric='degrees'``, by Euclidean distance over raw (lat, lon) degrees (the construction
    before issue 22, kept to reproduce older results; on NOAA 17 % of its edges differ). The
    split is chronological, 2/3 train, 1/6 validation, 1/6 test (:func:`time_split`).

    Returns:
        :class:`ForecastData` with ``series`` ``[1, T, N, 1]`` and ``pos`` ``[N, 2]`` (lat, lon).
    Raises:
        DataError: the folder or a file is missing, unreadable, the shapes disagree, or a
            latitude lies outside [-90, 90].
        OptionError: an unknown ``metric``.
    """
    from pde2gnn.errors import OptionError
    if metric not in ("great-circle", "degrees"):
        raise OptionError(f"unknown station metric '{metric}' (great-circle or degrees)")
    folder = Path(folder)
    values_path, stations_path = folder / "values.npy", folder / "stations.csv"
    for p in (values_path, stations_path):
        if not p.is_file():
            raise DataError(f"{p}: file not found (a sensor folder needs values.npy [T, N] and "
                            "stations.csv with lat, lon columns; set --data-root or "
                            "PDE2GNN_DATA to the folder holding sensors/)")
    try:
        values = np.load(values_path)
    except Exception as e:  # corrupt or not a .npy file
        raise DataError(f"{values_path}: cannot read: {e}") from None
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.floating):
        raise DataError(f"{values_path}: expected a float array [T, N], got {values.dtype} "
                        f"{list(values.shape)}")
    try:
        header = stations_path.read_text().splitlines()[0].split(",")
        cols = [header.index("lat"), header.index("lon")]
        latlon = np.loadtxt(stations_path, delimiter=",", skiprows=1, usecols=cols, ndmin=2)
    except (ValueError, IndexError) as e:
        raise DataError(f"{stations_path}: cannot read the lat, lon columns: {e}") from None
    if latlon.shape[0] != values.shape[1]:
        raise DataError(f"{stations_path}: {latlon.shape[0]} stations, but {values_path} has "
                        f"{values.shape[1]} columns")
    if not np.isfinite(latlon).all():
        raise DataError(f"{stations_path}: lat / lon must be finite numbers")
    if np.abs(latlon[:, 0]).max() > 90:
        raise DataError(f"{stations_path}: a latitude lies outside [-90, 90] degrees (are the "
                        "lat and lon columns swapped?)")
    T = values.shape[0]
    if T < 12:
        raise DataError(f"{values_path}: only {T} frames")
    return ForecastData(
        name=name or folder.name, series=torch.tensor(values, dtype=torch.float32)[None, :, :, None],
        edge_index=great_circle_knn_graph(latlon, k) if metric == "great-circle"
        else knn_graph(latlon, k), pos=torch.tensor(latlon, dtype=torch.float32),
        splits=time_split(T), units=units, window=window, source=str(folder),
        meta={"graph": f"symmetric {k}-NN by great-circle distance" if metric == "great-circle"
              else f"symmetric {k}-NN over (lat, lon) degrees",
              "split": "chronological 2/3 train, 1/6 validation, 1/6 test"})


def load_noaa(root: Optional[str] = None) -> ForecastData:
    """NOAA daily maximum temperature, central USA 1990-1993 (``values.npy`` ``[1461, 137]``,
    °C, 1.95 % missing) from ``<data root>/sensors/noaa_central_us_daily_1990_1993``; symmetric
    great-circle 4-NN graph of the stations; 974 / 243 / 244 days train / validation / test.

    Raises:
        DataError: the folder or its files are missing.
    """
    sub, units, window = SENSORS["noaa"]
    return load_sensor_folder(data_root(root) / "sensors" / sub, "noaa", units, 4, window)


def load_simulation(path) -> ForecastData:
    """Trajectories written by ``pde2gnn simulate`` (layout in :mod:`pde2gnn.simulate`):
    ``frames [B, T, M]``, the sampled nodes' ``pos`` and ``edge_index`` (symmetric kNN), and the
    trajectory split ``train`` / ``val`` / ``test`` (70/15/15 %). Each split uses all frames of
    its trajectories. PA-DGN's setting: 250 nodes, 4-NN, 5 frames in, 15 out.

    Returns:
        :class:`ForecastData` with ``series`` ``[B, T, M, 1]``.
    Raises:
        DataError: the file is missing, not an ``.npz`` from ``pde2gnn simulate``, or its arrays
        disagree.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found (write one with `pde2gnn simulate SPEC --out "
                        f"{path}`)")
    try:
        d = np.load(path, allow_pickle=False)
        missing = [k for k in ("frames", "edge_index", "train", "val", "test") if k not in d.files]
    except Exception as e:
        raise DataError(f"{path}: cannot read as .npz: {e}") from None
    if missing:
        raise DataError(f"{path}: not a `pde2gnn simulate` file, missing array(s) "
                        f"{', '.join(missing)}")
    frames = d["frames"]
    if frames.ndim != 3:
        raise DataError(f"{path}: frames must be [B, T, M], got {list(frames.shape)}")
    B, T, M = frames.shape
    ei = torch.as_tensor(d["edge_index"], dtype=torch.long)
    if ei.ndim != 2 or ei.shape[0] != 2 or (ei.numel() and int(ei.max()) >= M):
        raise DataError(f"{path}: edge_index {list(ei.shape)} does not fit {M} nodes")
    splits = {}
    for k in ("train", "val", "test"):
        idx = torch.as_tensor(d[k], dtype=torch.long)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= B):
            raise DataError(f"{path}: split '{k}' indexes outside {B} trajectories")
        splits[k] = Split(idx, 0, T)
    meta = json.loads(str(d["meta"])) if "meta" in d.files else {}
    pos = torch.tensor(d["pos"], dtype=torch.float32) if "pos" in d.files else None
    return ForecastData(
        name=meta.get("spec", path.stem), series=torch.tensor(frames, dtype=torch.float32)[..., None],
        edge_index=ei, pos=pos, splits=splits, units="", window=SYNTHETIC_WINDOW,
        source=str(path), meta={"graph": meta.get("graph", ""), "split": "by trajectory"})


def load_forecast_data(name_or_path: str, root: Optional[str] = None) -> ForecastData:
    """``noaa`` / ``pm10`` (sensor folders under ``<data root>/sensors``), a path to a
    ``pde2gnn simulate`` ``.npz``, or a path to a sensor folder (``values.npy`` +
    ``stations.csv``).

    Raises:
        DataError: unknown name, or missing / malformed files (the message names the path).
    """
    key = str(name_or_path)
    if key.lower() in SENSORS:
        sub, units, window = SENSORS[key.lower()]
        return load_sensor_folder(data_root(root) / "sensors" / sub, key.lower(), units, 4,
                                  window)
    p = Path(key).expanduser()
    if p.suffix == ".npz" or p.is_file():
        return load_simulation(p)
    if p.is_dir():
        return load_sensor_folder(p)
    hint = did_you_mean(key, list(SENSORS))
    raise DataError(f"unknown forecasting data '{key}': not {' / '.join(SENSORS)}, not an .npz "
                    f"file from `pde2gnn simulate`, not a sensor folder" +
                    (f"; {hint}" if hint else ""))
